//! A tiny template language for the pages in `assets/`: `{{name}}` inserts
//! an HTML-escaped value, `{{#name}}…{{/name}}` keeps a block when `name` is
//! set, `{{^name}}…{{/name}}` when it is not, and `{{*name}}…{{/name}}`
//! once per item of a list (an item's names first, then the outer ones).
//! Nothing is ever inserted raw.

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
    let mut out = String::with_capacity(template.len() + 512);
    render_into(template, &[vars], &mut out);
    out
}

/// A name's value in the innermost scope that sets it.
fn lookup<'v>(scopes: &[&'v Vars], name: &str) -> Option<&'v str> {
    scopes.iter().rev().find_map(|v| v.get(name))
}

fn render_into(mut rest: &str, scopes: &[&Vars], out: &mut String) {
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
                        render_into(body, &inner, out);
                    }
                } else if lookup(scopes, name).is_some() == (kind == '#') {
                    render_into(body, scopes, out);
                }
                rest = next;
            }
            _ => escape_into(lookup(scopes, tag).unwrap_or(""), out),
        }
    }
    out.push_str(rest);
}

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'', '`', '\u{2028}', '\u{2029}']) {
        out.push_str(&rest[..i]);
        let c = rest[i..].chars().next().unwrap_or_default();
        out.push_str(match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            '`' => "&#96;",
            '\u{2028}' => "&#8232;",
            _ => "&#8233;",
        });
        rest = &rest[i + c.len_utf8()..];
    }
    out.push_str(rest);
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

    proptest! {
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
