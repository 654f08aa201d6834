//! A tiny template language for the pages in `assets/`: `{{name}}` inserts
//! an HTML-escaped value, `{{#name}}…{{/name}}` keeps a block when `name` is
//! set, `{{^name}}…{{/name}}` when it is not, and `{{*name}}…{{/name}}`
//! once per item of a list (an item's names first, then the outer ones).
//! Nothing is ever inserted raw.

use std::sync::OnceLock;

use crate::protocol::text::find;

/// Values for one rendering: set names with their text.
#[derive(Default)]
pub struct Vars<'a> {
    values: Vec<(&'a str, String)>,
    lists: Vec<(&'a str, Vec<Vars<'a>>)>,
}

impl<'a> Vars<'a> {
    /// Sets `name` to `value`.
    pub fn set(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.values.push((name, value.into()));
        self
    }

    /// Sets `name` when `value` is `Some`.
    pub fn maybe(self, name: &'a str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self,
        }
    }

    /// Sets the list `name`, rendered by `{{*name}}…{{/name}}`.
    pub fn list(mut self, name: &'a str, items: Vec<Vars<'a>>) -> Self {
        self.lists.push((name, items));
        self
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// Renders `template` with `vars`. Unknown names render as nothing; an
/// unclosed block renders to the end of the template.
pub fn render(template: &str, vars: &Vars) -> String {
    Template::parse(template).render(vars)
}

/// A page's template, read into a [`Template`] on its first rendering in
/// an isolate: each later page only copies its text and values.
pub struct Page {
    text: &'static str,
    parsed: OnceLock<Template<'static>>,
}

impl Page {
    /// The page of `text` (an `include_str!` of `assets/`).
    pub const fn new(text: &'static str) -> Page {
        Page { text, parsed: OnceLock::new() }
    }

    /// The template's source text.
    pub fn text(&self) -> &'static str {
        self.text
    }

    /// Renders the page with `vars`.
    pub fn render(&self, vars: &Vars) -> String {
        self.parsed.get_or_init(|| Template::parse(self.text)).render(vars)
    }
}

/// A template read into its text, values and blocks.
pub struct Template<'t> {
    nodes: Vec<Node<'t>>,
    len: usize,
}

enum Node<'t> {
    /// Text copied as it is.
    Text(&'t str),
    /// `{{name}}`.
    Value(&'t str),
    /// `{{#name}}`, `{{^name}}` or `{{*name}}` (the kind) up to `{{/name}}`.
    Block { kind: char, name: &'t str, body: Vec<Node<'t>> },
}

impl<'t> Template<'t> {
    /// Reads `text`; any text is a template (see [`render`]).
    pub fn parse(text: &'t str) -> Template<'t> {
        Template { nodes: parse(text), len: text.len() }
    }

    /// Renders the template with `vars`.
    pub fn render(&self, vars: &Vars) -> String {
        let mut out = String::with_capacity(self.len + 512);
        render_into(&self.nodes, &[vars], &mut out);
        out
    }
}

/// A name's value in the innermost scope that sets it.
fn lookup<'v>(scopes: &[&'v Vars], name: &str) -> Option<&'v str> {
    scopes.iter().rev().find_map(|v| v.get(name))
}

fn parse(mut rest: &str) -> Vec<Node<'_>> {
    let mut nodes = Vec::new();
    while let Some(start) = find(rest, "{{") {
        let after = &rest[start + 2..];
        let Some(end) = find(after, "}}") else { break };
        if start > 0 {
            nodes.push(Node::Text(&rest[..start]));
        }
        let tag = after[..end].trim();
        rest = &after[end + 2..];
        match tag.chars().next() {
            Some(kind @ ('#' | '^' | '*')) => {
                let name = tag[1..].trim();
                let (body, next) = match find_close(rest, name) {
                    Some((i, len)) => (&rest[..i], &rest[i + len..]),
                    None => (rest, ""),
                };
                nodes.push(Node::Block { kind, name, body: parse(body) });
                rest = next;
            }
            _ => nodes.push(Node::Value(tag)),
        }
    }
    if !rest.is_empty() {
        nodes.push(Node::Text(rest));
    }
    nodes
}

fn render_into(nodes: &[Node], scopes: &[&Vars], out: &mut String) {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Value(name) => escape_into(lookup(scopes, name).unwrap_or(""), out),
            Node::Block { kind: '*', name, body } => {
                let items = scopes.iter().rev().find_map(|v| v.lists.iter().rev().find(|(n, _)| n == name));
                for item in items.map(|(_, items)| items.as_slice()).unwrap_or_default() {
                    let mut inner = scopes.to_vec();
                    inner.push(item);
                    render_into(body, &inner, out);
                }
            }
            Node::Block { kind, name, body } => {
                if lookup(scopes, name).is_some() == (*kind == '#') {
                    render_into(body, scopes, out);
                }
            }
        }
    }
}

/// The first `{{/name}}` in `hay`: its offset and length.
fn find_close(hay: &str, name: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = find(&hay[from..], "{{/") {
        let at = from + i;
        let tail = &hay.as_bytes()[at + 3..];
        if tail.starts_with(name.as_bytes()) && tail[name.len()..].starts_with(b"}}") {
            return Some((at, name.len() + 5));
        }
        from = at + 3;
    }
    None
}

/// HTML-escapes text for element content and quoted attribute values.
/// Byte by byte: every character it replaces is ASCII but U+2028 and
/// U+2029, whose UTF-8 forms start with 0xE2, and a run of other bytes is
/// copied at once.
pub fn escape_into(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let (entity, len) = match bytes[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&#39;", 1),
            b'`' => ("&#96;", 1),
            0xE2 if bytes[i + 1..].starts_with(&[0x80, 0xA8]) => ("&#8232;", 3),
            0xE2 if bytes[i + 1..].starts_with(&[0x80, 0xA9]) => ("&#8233;", 3),
            _ => {
                i += 1;
                continue;
            }
        };
        // `start` and `i` are on character boundaries: `i` is at an ASCII
        // byte or a lead byte, `start` just after a replaced character.
        out.push_str(&text[start..i]);
        out.push_str(entity);
        i += len;
        start = i;
    }
    out.push_str(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_are_escaped() {
        let v = Vars::default().set("x", "</script><svg onload=alert(1)>\"'`&\u{2028}");
        assert_eq!(
            render("<p title=\"{{x}}\">{{ x }}</p>", &v),
            "<p title=\"&lt;/script&gt;&lt;svg onload=alert(1)&gt;&quot;&#39;&#96;&amp;&#8232;\">&lt;/script&gt;&lt;svg onload=alert(1)&gt;&quot;&#39;&#96;&amp;&#8232;</p>"
        );
    }

    #[test]
    fn blocks_and_inverted_blocks() {
        let t = "{{#saved}}S{{hint}}{{/saved}}{{^saved}}N{{/saved}}|{{#error}}E{{/error}}";
        assert_eq!(render(t, &Vars::default().set("saved", "1").set("hint", "••••ab")), "S••••ab|");
        assert_eq!(render(t, &Vars::default()), "N|");
    }

    #[test]
    fn nested_blocks_of_different_names() {
        let t = "{{#a}}A{{#b}}B{{/b}}{{/a}}";
        assert_eq!(render(t, &Vars::default().set("a", "1")), "A");
        assert_eq!(render(t, &Vars::default().set("a", "1").set("b", "1")), "AB");
    }

    #[test]
    fn lists_render_each_item_escaped_with_outer_names_as_fallback() {
        let items = vec![Vars::default().set("x", "<a>"), Vars::default().set("x", "b").set("flag", "1")];
        let v = Vars::default().set("outer", "o").list("rows", items);
        let t = "[{{*rows}}({{x}}{{outer}}{{#flag}}!{{/flag}}){{/rows}}]";
        assert_eq!(render(t, &v), "[(&lt;a&gt;o)(bo!)]");
        assert_eq!(render(t, &Vars::default()), "[]");
    }

    #[test]
    fn a_value_cannot_inject_template_syntax() {
        let v = Vars::default().set("x", "{{secret}}").set("secret", "k");
        assert_eq!(render("{{x}}", &v), "{{secret}}");
    }

    /// The escaping as it was first written, character by character.
    fn escape_reference(text: &str) -> String {
        text.chars()
            .map(|c| match c {
                '&' => "&amp;".to_string(),
                '<' => "&lt;".to_string(),
                '>' => "&gt;".to_string(),
                '"' => "&quot;".to_string(),
                '\'' => "&#39;".to_string(),
                '`' => "&#96;".to_string(),
                '\u{2028}' => "&#8232;".to_string(),
                '\u{2029}' => "&#8233;".to_string(),
                c => c.to_string(),
            })
            .collect()
    }

    #[test]
    fn a_block_closes_at_its_own_name_only() {
        let t = "{{#ab}}1{{/a}}2{{/abc}}3{{/ab}}4";
        assert_eq!(render(t, &Vars::default().set("ab", "x")), "1234");
        assert_eq!(render(t, &Vars::default()), "4");
        assert_eq!(render("{{#a}}open", &Vars::default().set("a", "x")), "open");
        assert_eq!(render("x {{ y", &Vars::default()), "x {{ y");
        assert_eq!(render("{{/a}", &Vars::default()), "{{/a}");
    }

    #[test]
    fn escaping_keeps_the_characters_it_does_not_replace() {
        let text = "é\u{2027}\u{2028}\u{202a}€\u{2029}x";
        assert_eq!(render("{{x}}", &Vars::default().set("x", text)), "é\u{2027}&#8232;\u{202a}€&#8233;x");
    }

    /// Rendering as it was first written: the text interpreted on every
    /// call, with `str::find`.
    fn reference_render(mut rest: &str, scopes: &[&Vars], out: &mut String) {
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                out.push_str(&rest[start..]);
                return;
            };
            let tag = after[..end].trim();
            rest = &after[end + 2..];
            match tag.chars().next() {
                Some(kind @ ('#' | '^' | '*')) => {
                    let name = tag[1..].trim();
                    let close = format!("{{{{/{name}}}}}");
                    let (body, next) = match rest.find(&close) {
                        Some(i) => (&rest[..i], &rest[i + close.len()..]),
                        None => (rest, ""),
                    };
                    if kind == '*' {
                        let items = scopes.iter().rev().find_map(|v| v.lists.iter().rev().find(|(n, _)| *n == name));
                        for item in items.map(|(_, items)| items.as_slice()).unwrap_or_default() {
                            let mut inner = scopes.to_vec();
                            inner.push(item);
                            reference_render(body, &inner, out);
                        }
                    } else if lookup(scopes, name).is_some() == (kind == '#') {
                        reference_render(body, scopes, out);
                    }
                    rest = next;
                }
                _ => out.push_str(&escape_reference(lookup(scopes, tag).unwrap_or(""))),
            }
        }
        out.push_str(rest);
    }

    #[test]
    fn every_page_renders_as_the_reference_renders_it() {
        use crate::pages::{grants::GRANTS_PAGE, CONSENT_PAGE, DEVICE_PAGE, ERROR_PAGE};
        for page in [&CONSENT_PAGE, &ERROR_PAGE, &DEVICE_PAGE, &GRANTS_PAGE] {
            // Every name the page uses, set (each block kept, each inverted
            // block dropped, each list of two items) and then unset.
            let names: Vec<&str> = page
                .text()
                .split("{{")
                .skip(1)
                .filter_map(|t| t.split_once("}}").map(|(tag, _)| tag.trim().trim_start_matches(['#', '^', '*', '/'])))
                .collect();
            let all = |v: Vars<'static>| names.iter().fold(v, |v, &n| v.set(n, format!("<{n}&\"'>")));
            let item = || all(Vars::default());
            let set = names.iter().fold(all(Vars::default()), |v, &n| v.list(n, vec![item(), item()]));
            assert!(names.len() > 3, "the page's names are found");
            for v in [set, Vars::default()] {
                let mut want = String::new();
                reference_render(page.text(), &[&v], &mut want);
                assert_eq!(page.render(&v), want);
            }
        }
    }

    proptest! {
        /// Templates made of tags, stray braces and text: the parsed
        /// template renders what the reference interpreter renders.
        #[test]
        fn a_parsed_template_renders_as_the_reference(
            parts in proptest::collection::vec(
                "(\\{\\{|\\}\\}|\\{|\\}|\\{\\{x\\}\\}|\\{\\{ y \\}\\}|\\{\\{#a\\}\\}|\\{\\{/a\\}\\}|\\{\\{\\^a\\}\\}|\\{\\{#b\\}\\}|\\{\\{/b\\}\\}|\\{\\{\\*rows\\}\\}|\\{\\{/rows\\}\\}|\\{\\{/|t|é|<)",
                0..24,
            ),
            a in any::<bool>(),
        ) {
            let template = parts.concat();
            let items = vec![Vars::default().set("x", "1<"), Vars::default().set("y", "2").set("b", "")];
            let v = Vars::default().set("x", "X&").maybe("a", a.then_some("A")).list("rows", items);
            let mut want = String::new();
            reference_render(&template, &[&v], &mut want);
            prop_assert_eq!(render(&template, &v), want);
        }

        #[test]
        fn escaping_matches_a_character_by_character_reference(x in "(\\PC|[&<>\"'`\u{2028}\u{2029}\u{2027}\u{202a}]){0,60}") {
            let mut out = String::new();
            escape_into(&x, &mut out);
            prop_assert_eq!(out, escape_reference(&x));
        }

        #[test]
        fn render_never_panics(t in ".{0,80}", x in ".{0,40}") {
            let _ = render(&t, &Vars::default().set("x", x));
        }

        #[test]
        fn a_value_never_emits_markup(x in ".{0,80}") {
            let out = render("{{x}}", &Vars::default().set("x", x));
            prop_assert!(!out.contains(['<', '>', '"', '\'']));
        }
    }
}
