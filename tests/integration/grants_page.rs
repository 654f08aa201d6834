//! The grants page (GET/POST /grants): a key's subject sees its grants and
//! nobody else's; revoking ends refresh and introspection at once; every
//! action form is CSRF-protected, sealed, single use and expires; the key
//! never appears in a page.

use crate::sealed::{active, at, rt, sealed, sealed_query, sealed_with, OTHER, R};
use crate::security::assert_page;
use crate::*;
use parallel_oauth_provider::config::TokenPolicy;

const OTHER_KEY: &str = "sk-other-fedcba9876543210";
const SAME_PAGE: [(&str, &str); 2] = [("origin", "null"), ("sec-fetch-site", "same-origin")];

/// `client` (a hostname) connects with `key` for `resource`: the token response.
fn connect(s: &Server, client: &str, key: &str, resource: &str) -> Value {
    let redirect = format!("https://{client}/callback");
    let (verifier, challenge) = pkce(&format!("{client}{key}{resource}"));
    let query = auth_query(client, &redirect, &challenge, &format!("&resource={}", enc(resource)));
    let code = approve(s, &query, &mut Jar::default(), &format!("api_key={}&action=approve", enc(key)));
    let r = s.token(&token_body(&code, client, &redirect, &verifier));
    assert_eq!(r.status, 200, "{}", r.text());
    json(&r)
}

fn refresh_as(s: &Server, refresh_token: &str, client: &str) -> Response {
    s.token(&format!("grant_type=refresh_token&refresh_token={}&client_id={}", enc(refresh_token), enc(client)))
}

fn open_grants(s: &Server, jar: &mut Jar) -> Response {
    let r = s.send(Request::new("GET", url("/grants")).with_header("cookie", &jar.header()));
    jar.update(&r);
    r
}

fn post_grants(s: &Server, jar: &mut Jar, body: &str) -> Response {
    let mut headers = SAME_PAGE.to_vec();
    let cookie = jar.header();
    headers.push(("cookie", &cookie));
    let r = s.post("/grants", FORM, body, &headers);
    jar.update(&r);
    r
}

/// A new browser opens /grants and pastes `key`: the list and the jar.
fn show(s: &Server, key: &str) -> (Response, Jar) {
    let mut jar = Jar::default();
    let page = open_grants(s, &mut jar);
    assert_eq!(page.status, 200, "{}", page.text());
    let r = post_grants(s, &mut jar, &format!("csrf={}&api_key={}&action=show", hidden(&page, "csrf"), enc(key)));
    assert_eq!(r.status, 200, "{}", r.text());
    (r, jar)
}

/// Posts an action form of `page` (its session and CSRF token).
fn act(s: &Server, page: &Response, jar: &mut Jar, fields: &str) -> Response {
    post_grants(s, jar, &format!("session={}&csrf={}&{fields}", hidden(page, "session"), hidden(page, "csrf")))
}

/// The grant ids listed on a page, in order.
fn listed(page: &Response) -> Vec<String> {
    let html = page.text();
    html.split("id=\"grant-").skip(1).map(|rest| rest[..rest.find('"').unwrap()].to_string()).collect()
}

fn grant_id(s: &Server, tokens: &Value) -> String {
    // The id a refresh token names, read back through the store dump.
    let dump: Value = serde_json::from_str(&s.grants.dump()).unwrap();
    let mut ids = Vec::new();
    for subject in dump.as_array().unwrap() {
        for rec in subject[1].as_array().unwrap() {
            ids.push((rec["id"].as_str().unwrap().to_string(), rec["client_id"].as_str().unwrap().to_string()));
        }
    }
    let client = tokens["client"].as_str().unwrap();
    ids.into_iter().find(|(_, c)| c == client).map(|(id, _)| id).expect("a grant for the client")
}

fn with_client(mut v: Value, client: &str) -> Value {
    v["client"] = client.into();
    v
}

#[test]
fn listing_is_per_subject_and_newest_first() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    s.now.set(T0 + 60);
    let b = with_client(connect(&s, "app-b.example", KEY, R), "app-b.example");
    s.now.set(T0 + 120);
    let c = with_client(connect(&s, "app-c.example", OTHER_KEY, R), "app-c.example");

    let (page, _) = show(&s, KEY);
    assert_eq!(listed(&page), vec![grant_id(&s, &b), grant_id(&s, &a)], "newest first, only this key's");
    let html = page.text();
    for expected in ["app-a.example", "app-b.example", R, "api", "2027-01-15 08:01 UTC", "sealed token", "Revoke all"] {
        assert!(html.contains(expected), "{expected}");
    }
    assert!(!html.contains("app-c.example"));

    let (other, _) = show(&s, OTHER_KEY);
    assert_eq!(listed(&other), vec![grant_id(&s, &c)]);
    assert!(!other.text().contains("app-a.example") && !other.text().contains("app-b.example"));

    let (nobody, _) = show(&s, "sk-nobody-0000000000000000");
    assert!(listed(&nobody).is_empty());
    assert!(nobody.text().contains("No app is connected with this key."));
}

/// Regression: the grants page and the sealed consent text named hosts
/// without their port (`localhost` for `localhost:3000`, `mcp.example`
/// for `https://mcp.example:8443/mcp`), where the consent page's client
/// host kept it: two apps or MCP servers on one host looked the same.
#[test]
fn hosts_were_shown_without_their_port() {
    let s = sealed();
    let (redirect, resource) = ("https://app.example:8443/callback", "https://mcp.example:8443/mcp");
    let (verifier, challenge) = pkce("ports");
    let query = auth_query("app.example", redirect, &challenge, &format!("&resource={}", enc(resource)));
    let (page, mut jar) = s.open_consent(&query);
    assert!(page.text().contains("sealed to the MCP server <strong>mcp.example:8443</strong>"), "{}", page.text());
    let r = s.answer(&page, APPROVE, &mut jar);
    let code = param(&location(&r).1, "code").unwrap().to_string();
    assert_eq!(s.token(&token_body(&code, "app.example", redirect, &verifier)).status, 200);
    let (list, _) = show(&s, KEY);
    assert!(list.text().contains("app.example:8443"), "{}", list.text());
}

#[test]
fn last_refreshed_is_shown_after_a_refresh() {
    let s = sealed();
    let t = connect(&s, "app-a.example", KEY, R);
    assert!(show(&s, KEY).0.text().contains("not yet"));
    s.now.set(T0 + 3600);
    assert_eq!(refresh_as(&s, &rt(&t), "app-a.example").status, 200);
    assert!(show(&s, KEY).0.text().contains("2027-01-15 09:00 UTC"));
}

#[test]
fn revoke_one_ends_its_refresh_and_introspection_at_once_and_leaves_the_other() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let b = with_client(connect(&s, "app-b.example", KEY, R), "app-b.example");
    assert!(active(&s, &at(&a)) && active(&s, &at(&b)));
    let (page, mut jar) = show(&s, KEY);
    let r = act(&s, &page, &mut jar, &format!("action=revoke&grant={}", grant_id(&s, &a)));
    assert_eq!(r.status, 200, "{}", r.text());
    let html = r.text();
    assert!(html.contains("Revoked app-a.example") && html.contains("within the hour"), "{html}");
    assert!(html.contains("role=\"status\""));

    assert_error(&refresh_as(&s, &rt(&a), "app-a.example"), 400, "invalid_grant", "revoked refresh");
    assert!(!active(&s, &at(&a)), "introspection says inactive at once");
    assert!(active(&s, &at(&b)));
    assert_eq!(refresh_as(&s, &rt(&b), "app-b.example").status, 200, "the other still refreshes");
    // The row stays, marked revoked; its Revoke button is gone.
    assert!(html.contains("Revoked: it can no longer refresh."));
    assert_eq!(html.matches("value=\"revoke\"").count(), 1);
}

#[test]
fn revoke_all_ends_every_grant_of_the_key_and_no_other_keys() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let b = with_client(connect(&s, "app-b.example", KEY, OTHER), "app-b.example");
    let c = with_client(connect(&s, "app-c.example", OTHER_KEY, R), "app-c.example");
    let (page, mut jar) = show(&s, KEY);
    let r = act(&s, &page, &mut jar, "action=revoke_all");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Every app&#39;s access is revoked"), "{}", r.text());
    assert!(!r.text().contains("value=\"revoke_all\""), "nothing left to revoke");
    for (t, client) in [(&a, "app-a.example"), (&b, "app-b.example")] {
        assert_error(&refresh_as(&s, &rt(t), client), 400, "invalid_grant", client);
    }
    assert!(!active(&s, &at(&a)));
    assert!(active(&s, &at(&c)));
    assert_eq!(refresh_as(&s, &rt(&c), "app-c.example").status, 200);
}

#[test]
fn passthrough_approvals_are_listed_with_the_truth_and_can_be_forgotten() {
    let tokens = TokenPolicy { sealed_resources: vec![R.into()], ..TokenPolicy::default() };
    let s = sealed_with(tokens);
    let sealed_one = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let plain = with_client(connect(&s, "plain.example", KEY, OTHER), "plain.example");
    assert_eq!(plain["access_token"], KEY);
    let (page, mut jar) = show(&s, KEY);
    assert_eq!(listed(&page).len(), 2);
    let html = page.text();
    assert!(html.contains("This app holds your API key itself"), "{html}");
    assert!(html.contains("your API key (passthrough)"));
    assert!(html.contains(&format!("href=\"{}\"", Config::default().branding.key_url)));

    // A passthrough row cannot be "revoked" here (only at the platform)…
    let pid = grant_id(&s, &plain);
    let r = act(&s, &page, &mut jar, &format!("action=revoke&grant={pid}"));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("only revoking the key in your dashboard stops it"));
    // …nor a sealed one forgotten.
    let r = act(&s, &r, &mut jar, &format!("action=forget&grant={}", grant_id(&s, &sealed_one)));
    assert!(r.text().contains("revoke this one"));
    assert_eq!(listed(&r).len(), 2);
    // Forget removes the row.
    let r = act(&s, &r, &mut jar, &format!("action=forget&grant={pid}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Removed plain.example from this list"));
    assert_eq!(listed(&r), vec![grant_id(&s, &sealed_one)]);
    assert_eq!(refresh_as(&s, &rt(&sealed_one), "app-a.example").status, 200);
}

#[test]
fn the_saved_key_proves_the_key_without_typing_it() {
    let s = sealed();
    let (verifier, query) = sealed_query("saved");
    let mut jar = Jar::default();
    let code = approve(&s, &query, &mut jar, APPROVE_AND_REMEMBER);
    assert_eq!(s.redeem(&code, &verifier).status, 200);
    assert!(jar.has(REMEMBER_COOKIE));
    let page = open_grants(&s, &mut jar);
    assert!(page.text().contains("Use my saved key"), "{}", page.text());
    let r = post_grants(&s, &mut jar, &format!("csrf={}&key_choice=saved&action=show", hidden(&page, "csrf")));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(listed(&r).len(), 1);
    assert!(r.text().contains("yourapp.com"));
    // Without the cookie, "saved" asks for the key again.
    let mut fresh = Jar::default();
    let page = open_grants(&s, &mut fresh);
    let r = post_grants(&s, &mut fresh, &format!("csrf={}&key_choice=saved&action=show", hidden(&page, "csrf")));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("saved key is no longer available"));
}

#[test]
fn csrf_replay_and_foreign_posts_of_the_revoke_form_are_refused() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let b = with_client(connect(&s, "app-b.example", KEY, R), "app-b.example");
    let (page, mut jar) = show(&s, KEY);
    let gid = grant_id(&s, &a);
    let session = hidden(&page, "session");
    let csrf = hidden(&page, "csrf");
    let ours = jar.header();
    let (_, other_jar) = show(&s, KEY);
    let theirs = other_jar.header();
    let body = |session: &str, csrf: &str| format!("session={session}&csrf={csrf}&action=revoke&grant={gid}");
    let good = body(&session, &csrf);
    let zeros = "A".repeat(43);
    type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("no csrf cookie", good.clone(), vec![]),
        ("no csrf field", format!("session={session}&action=revoke&grant={gid}"), vec![("cookie", &ours)]),
        ("wrong csrf field", body(&session, &zeros), vec![("cookie", &ours)]),
        ("forged csrf cookie", good.clone(), vec![("cookie", FORGED_CSRF_COOKIE)]),
        ("forged cookie and field agree", body(&session, &zeros), vec![("cookie", FORGED_CSRF_COOKIE)]),
        ("another browser's cookie", good.clone(), vec![("cookie", &theirs)]),
        ("no session", format!("csrf={csrf}&action=revoke&grant={gid}"), vec![("cookie", &ours)]),
        ("foreign Origin", good.clone(), vec![("cookie", &ours), ("origin", "https://evil.example")]),
        ("cross-site fetch", good.clone(), vec![("cookie", &ours), ("sec-fetch-site", "cross-site")]),
        ("same-site fetch", good.clone(), vec![("cookie", &ours), ("sec-fetch-site", "same-site")]),
    ];
    for (what, body, headers) in cases {
        let r = s.post("/grants", FORM, &body, &headers);
        assert_page(&r, 403, what);
        assert!(!r.text().contains(KEY), "{what}");
    }
    // The "show" form is protected too: a cross-site post cannot make the page list a saved key's grants.
    let show_body = format!("csrf={csrf}&api_key={KEY}&action=show");
    assert_page(&s.post("/grants", FORM, &show_body, &[]), 403, "show without a csrf cookie");
    let foreign = [("cookie", ours.as_str()), ("origin", "https://evil.example")];
    assert_page(&s.post("/grants", FORM, &show_body, &foreign), 403, "show from another origin");
    assert_eq!(refresh_as(&s, &rt(&a), "app-a.example").status, 200, "nothing was revoked");

    // The real form works once; replaying it is refused.
    let r = act(&s, &page, &mut jar, &format!("action=revoke&grant={gid}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let replay = act(&s, &page, &mut jar, "action=revoke_all");
    assert_page(&replay, 403, "replayed form");
    assert!(replay.text().contains("already used"));
    // The page after it carries a fresh session that works.
    assert_ne!(hidden(&r, "session"), session);
    assert_eq!(refresh_as(&s, &rt(&b), "app-b.example").status, 200, "the replay revoked nothing");
    assert_eq!(act(&s, &r, &mut jar, "action=revoke_all").status, 200);
    assert_error(&refresh_as(&s, &rt(&b), "app-b.example"), 400, "invalid_grant", "revoked by the fresh form");
}

#[test]
fn a_double_pressed_revoke_said_already_used() {
    // Revoke pressed twice on a slow connection: the browser drops the first
    // answer for the second POST of the same form. It gets the first answer's
    // notice over the list as it is now; nothing is done twice, and another
    // action, another app or a late replay of that form is still refused.
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let b = with_client(connect(&s, "app-b.example", KEY, R), "app-b.example");
    let (page, mut jar) = show(&s, KEY);
    let (ga, gb) = (grant_id(&s, &a), grant_id(&s, &b));
    let first = act(&s, &page, &mut jar, &format!("action=revoke&grant={ga}"));
    assert_eq!(first.status, 200, "{}", first.text());
    assert!(first.text().contains("Revoked app-a.example"), "{}", first.text());
    let second = act(&s, &page, &mut jar, &format!("action=revoke&grant={ga}"));
    assert_eq!(second.status, 200, "{}", second.text());
    assert!(second.text().contains("Revoked app-a.example"), "{}", second.text());
    assert_ne!(hidden(&second, "session"), hidden(&page, "session"), "a fresh session for the next action");
    assert_eq!(listed(&second), listed(&first));
    assert_page(&act(&s, &page, &mut jar, &format!("action=revoke&grant={gb}")), 403, "another app");
    assert_page(&act(&s, &page, &mut jar, "action=revoke_all"), 403, "another action");
    assert_eq!(refresh_as(&s, &rt(&b), "app-b.example").status, 200, "b is untouched");
    s.now.set(s.now.get() + 11);
    assert_page(&act(&s, &page, &mut jar, &format!("action=revoke&grant={ga}")), 403, "after the window");
    // The second answer's session works.
    assert_eq!(act(&s, &second, &mut jar, &format!("action=revoke&grant={gb}")).status, 200);
    assert_error(&refresh_as(&s, &rt(&b), "app-b.example"), 400, "invalid_grant", "revoked from the second answer");
}

#[test]
fn a_tampered_foreign_or_expired_session_is_refused() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let gid = grant_id(&s, &a);
    let (page, mut jar) = show(&s, KEY);
    let session = hidden(&page, "session");
    let csrf = hidden(&page, "csrf");
    let mut flipped = session.clone().into_bytes();
    let i = flipped.len() / 2;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let consent_form = hidden(&Server::new().open_consent(&default_query("x").0).0, "request");
    let tokens = TokenPolicy { sealed_resources: vec![R.into()], ..TokenPolicy::default() };
    let other_secret =
        Server::with(Config { tokens, ..Config::default() }, "another-secret-that-is-long-enough-0123456789", None);
    connect(&other_secret, "app-a.example", KEY, R);
    let (foreign_page, _) = show(&other_secret, KEY);
    for (what, value) in [
        ("one flipped character", flipped),
        ("truncated", session[..session.len() - 4].to_string()),
        ("garbage", "AAAA".to_string()),
        ("a consent form's sealed state", consent_form),
        ("sealed under another secret", hidden(&foreign_page, "session")),
    ] {
        let r = post_grants(&s, &mut jar, &format!("session={value}&csrf={csrf}&action=revoke&grant={gid}"));
        assert_page(&r, 403, what);
    }
    s.now.set(T0 + 601);
    let r = act(&s, &page, &mut jar, &format!("action=revoke&grant={gid}"));
    assert_eq!(r.status, 400);
    assert!(r.text().contains("This page has expired"));
    assert!(r.text().contains("name=\"api_key\""), "the key form again");
    assert_eq!(refresh_as(&s, &rt(&a), "app-a.example").status, 200, "nothing was revoked");
}

#[test]
fn nothing_on_the_page_contains_the_key() {
    let s = sealed();
    let a = with_client(connect(&s, "app-a.example", KEY, R), "app-a.example");
    let mut jar = Jar::default();
    let first = open_grants(&s, &mut jar);
    let bad = post_grants(&s, &mut jar, &format!("csrf={}&api_key=%20&action=show", hidden(&first, "csrf")));
    let (page, mut jar) = show(&s, KEY);
    let after = act(&s, &page, &mut jar, &format!("action=revoke&grant={}", grant_id(&s, &a)));
    for (what, r) in [("key form", &first), ("key refused", &bad), ("list", &page), ("after revoke", &after)] {
        let everything = format!("{:?} {}", r.headers, r.text());
        assert!(!everything.contains(KEY), "{what}");
        assert!(!everything.contains(&KEY[KEY.len() - 8..]), "{what}: not even most of it");
    }
    assert!(page.text().contains("••••cdef"), "only the masked hint");
    assert!(!s.grants.dump().contains(KEY));
}

#[test]
fn the_page_has_the_consent_pages_hardening_and_no_cors() {
    let s = sealed();
    let mut jar = Jar::default();
    let get = s.send(Request::new("GET", url("/grants")).with_header("origin", "https://evil.example"));
    let (list, _) = show(&s, KEY);
    for (what, r) in [("key form", &get), ("list", &list)] {
        assert_page(r, 200, what);
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self';"), "{what}: {csp}");
        assert!(!r.text().contains("<script"), "{what}");
        assert!(r.header("access-control-allow-origin").is_none(), "{what}: no CORS");
    }
    let preflight = s.send(
        Request::new("OPTIONS", url("/grants"))
            .with_header("origin", "https://evil.example")
            .with_header("access-control-request-method", "POST"),
    );
    assert_eq!(preflight.status, 405);
    assert!(preflight.header("access-control-allow-origin").is_none());
    assert!(get.headers_named("set-cookie").any(|c| c.starts_with(CSRF_COOKIE)));
    assert!(!open_grants(&s, &mut jar).headers_named("set-cookie").any(|c| c.starts_with(REMEMBER_COOKIE)));
    let json_post = s.post("/grants", "application/json", "{}", &SAME_PAGE);
    assert_page(&json_post, 400, "not a form");
}

#[test]
fn without_a_grant_store_the_page_says_nothing_is_tracked_here() {
    let s = Server::new();
    let r = block_on(s.provider.handle(&Request::new("GET", url("/grants")), &s.store, T0, [9; 32])).unwrap();
    assert_page(&r, 200, "untracked");
    assert!(r.text().contains("Connected apps are not tracked here"), "{}", r.text());
    assert!(!r.text().contains("name=\"api_key\""));
}

#[test]
fn the_consent_page_links_to_the_grants_page() {
    let s = Server::new();
    let (page, _) = s.open_consent(&default_query("link").0);
    assert!(page.text().contains("<a href=\"/grants\" id=\"manage\">Manage connected apps</a>"));
    let prefixed = Server::with(Config { path_prefix: "/oauth".into(), ..Config::default() }, SECRET, None);
    assert_eq!(prefixed.get("/oauth/grants").status, 200);
}

#[test]
fn grants_page_during_a_secret_rotation_lists_and_revokes_grants_made_before_it() {
    let mut s = sealed();
    let old = with_client(connect(&s, "app-old.example", KEY, R), "app-old.example");
    // SECRET rotates: the old one stays as SECRET_PREVIOUS, so the grant still refreshes.
    let config = Config {
        tokens: crate::sealed::policy(parallel_oauth_provider::config::TokenFormat::Jwe),
        ..Config::default()
    };
    s.provider = Provider::new(config, "a-new-secret-after-rotation-0123456789abc", Some(SECRET)).unwrap();
    s.now.set(T0 + 60);
    let new = with_client(connect(&s, "app-new.example", KEY, R), "app-new.example");
    assert_eq!(refresh_as(&s, &rt(&old), "app-old.example").status, 200, "the old grant still refreshes");

    let (page, mut jar) = show(&s, KEY);
    assert_eq!(listed(&page), vec![grant_id(&s, &new), grant_id(&s, &old)], "both subjects' grants, newest first");
    let r = act(&s, &page, &mut jar, &format!("action=revoke&grant={}", grant_id(&s, &old)));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Revoked app-old.example"), "{}", r.text());
    assert_error(&refresh_as(&s, &rt(&old), "app-old.example"), 400, "invalid_grant", "revoked across the rotation");
    assert_eq!(refresh_as(&s, &rt(&new), "app-new.example").status, 200);

    // Revoke all reaches both subjects.
    let (page, mut jar) = show(&s, KEY);
    assert_eq!(act(&s, &page, &mut jar, "action=revoke_all").status, 200);
    assert_error(&refresh_as(&s, &rt(&new), "app-new.example"), 400, "invalid_grant", "revoke all");
}
