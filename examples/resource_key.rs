//! `make resource-key RESOURCE=<uri>`: prints the resource key of one
//! resource (HKDF from `SECRET`, see `ResourceKey::derive`), base64url
//! without padding, as the last line. `SECRET` comes from the environment,
//! else from `.dev.vars`. With `SECRET_PREVIOUS` set too, the previous key
//! is printed before it (for a resource server that must open tokens sealed
//! before a rotation).

use parallel_oauth_provider::crypto::secret::Secret;
use parallel_oauth_provider::grants::access_token::ResourceKey;
use parallel_oauth_provider::protocol::resource::normalize;

fn from_dev_vars(name: &str) -> Option<String> {
    let text = std::fs::read_to_string(".dev.vars").ok()?;
    text.lines().find_map(|line| {
        let (n, v) = line.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty()).or_else(|| from_dev_vars(name)).filter(|v| !v.is_empty())
}

fn main() {
    let Some(resource) = std::env::args().nth(1).filter(|r| !r.is_empty()) else {
        eprintln!("usage: make resource-key RESOURCE=https://mcp.example.com/mcp");
        std::process::exit(2);
    };
    let Some(normalized) = normalize(&resource) else {
        eprintln!("not a resource URI: {resource}");
        std::process::exit(2);
    };
    let secret = match var("SECRET").map(|s| Secret::new(&s)) {
        Some(Ok(s)) => s,
        _ => {
            eprintln!("SECRET (at least 32 bytes) is not set in the environment or in .dev.vars");
            std::process::exit(2);
        }
    };
    println!("resource: {normalized}");
    if let Some(Ok(previous)) = var("SECRET_PREVIOUS").map(|s| Secret::new(&s)) {
        let key = ResourceKey::derive(&previous, &normalized);
        println!("previous key (kid {}), for RESOURCE_KEY_PREVIOUS:", key.kid());
        println!("{}", key.to_b64url());
    }
    let key = ResourceKey::derive(&secret, &normalized);
    println!("key (kid {}); store it with `wrangler secret put RESOURCE_KEY`:", key.kid());
    println!("{}", key.to_b64url());
}
