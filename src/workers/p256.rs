//! ES256's curve arithmetic on Workers: the runtime's own BoringSSL,
//! through `node:crypto` (`process.getBuiltinModule`, so a Worker without
//! the `nodejs_compat` flag still loads and only ES256 is unavailable).
//! Synchronous, unlike WebCrypto's `subtle`, so the core keeps one shape
//! on every platform (see [`crate::crypto::p256`]).
//!
//! Measured in workerd: about 50 µs to sign (the PKCS#8 key parsed each
//! time), against about a millisecond for RustCrypto's `p256` compiled to
//! WASM at `opt-level = "z"`, which also cost 9.8 KB of the gzipped WASM.

use std::cell::OnceCell;

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::crypto::p256::{self, Point, P256};
use crate::protocol::encoding::{b64url, from_b64url};

#[wasm_bindgen]
extern "C" {
    /// `node:crypto`, the members used here.
    type NodeCrypto;

    #[wasm_bindgen(method, catch)]
    fn sign(this: &NodeCrypto, algorithm: &str, data: &[u8], key: &Object) -> Result<Uint8Array, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn verify(this: &NodeCrypto, algorithm: &str, data: &[u8], key: &Object, sig: &[u8]) -> Result<bool, JsValue>;

    #[wasm_bindgen(method, catch, js_name = createPrivateKey)]
    fn create_private_key(this: &NodeCrypto, key: &Object) -> Result<KeyObject, JsValue>;

    #[wasm_bindgen(method, catch, js_name = createPublicKey)]
    fn create_public_key(this: &NodeCrypto, key: &JsValue) -> Result<KeyObject, JsValue>;

    /// A `node:crypto` `KeyObject`.
    type KeyObject;

    #[wasm_bindgen(method, catch)]
    fn export(this: &KeyObject, options: &Object) -> Result<Object, JsValue>;

    /// `globalThis.process` (with `nodejs_compat`).
    type Process;

    #[wasm_bindgen(method, js_name = getBuiltinModule)]
    fn get_builtin_module(this: &Process, name: &str) -> JsValue;
}

thread_local! {
    static NODE_CRYPTO: OnceCell<Option<NodeCrypto>> = const { OnceCell::new() };
}

/// Runs `f` with `node:crypto`, or `None` without it.
fn with_node_crypto<T>(f: impl FnOnce(&NodeCrypto) -> Option<T>) -> Option<T> {
    NODE_CRYPTO.with(|cell| {
        let crypto = cell.get_or_init(|| {
            let process = Reflect::get(&js_sys::global(), &"process".into()).ok()?;
            let get = Reflect::get(&process, &"getBuiltinModule".into()).ok()?;
            if !get.is_function() {
                return None;
            }
            let module = process.unchecked_into::<Process>().get_builtin_module("node:crypto");
            (!module.is_undefined() && !module.is_null()).then(|| module.unchecked_into())
        });
        crypto.as_ref().and_then(f)
    })
}

/// The runtime's P-256 (see the module docs).
pub struct RuntimeP256;

/// Installs [`RuntimeP256`] as this isolate's ES256 implementation
/// ([`crate::crypto::p256::install`]). The crate's own entry points call
/// it; a resource server that verifies JWT access tokens in a Worker calls
/// it once before [`crate::resource_server::parse_jwks`]. It does not load
/// `node:crypto` (about 10 ms of a cold start in workerd): the first ES256
/// operation does.
pub fn install_p256() {
    p256::install(&RuntimeP256);
}

/// Whether the runtime has `node:crypto` (the `nodejs_compat` flag);
/// loads it when it does.
pub fn has_node_crypto() -> bool {
    with_node_crypto(|_| Some(())).is_some()
}

/// An options object of `(name, value)` members.
fn object(members: &[(&str, &JsValue)]) -> Object {
    let o = Object::new();
    for (name, value) in members {
        let _ = Reflect::set(&o, &(*name).into(), value);
    }
    o
}

/// `{ key: <PKCS#8 DER of d>, format: "der", type: "pkcs8", … }`: RFC
/// 5915's ECPrivateKey without the optional public key (BoringSSL computes
/// it). The DER is copied into JS memory; the WASM copy is zeroed.
fn private_key(d: &[u8; 32], extra: &[(&str, &JsValue)]) -> Object {
    const PREFIX: [u8; 35] = [
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    let mut der = [0u8; 67];
    der[..35].copy_from_slice(&PREFIX);
    der[35..].copy_from_slice(d);
    let key: JsValue = Uint8Array::from(&der[..]).into();
    der.fill(0);
    let (format, kind) = (JsValue::from_str("der"), JsValue::from_str("pkcs8"));
    let mut members = vec![("key", &key), ("format", &format), ("type", &kind)];
    members.extend(extra.iter().copied());
    object(&members)
}

/// `{ key: { kty: "EC", crv: "P-256", x, y }, format: "jwk", … }`.
fn public_key(point: &Point, extra: &[(&str, &JsValue)]) -> Object {
    let (kty, crv) = (JsValue::from_str("EC"), JsValue::from_str("P-256"));
    let (x, y) = (JsValue::from_str(&b64url(&point[..32])), JsValue::from_str(&b64url(&point[32..])));
    let jwk: JsValue = object(&[("kty", &kty), ("crv", &crv), ("x", &x), ("y", &y)]).into();
    let format = JsValue::from_str("jwk");
    let mut members = vec![("key", &jwk), ("format", &format)];
    members.extend(extra.iter().copied());
    object(&members)
}

/// The 32 bytes of a base64url JWK member.
fn coordinate(jwk: &Object, name: &str) -> Option<[u8; 32]> {
    from_b64url(&Reflect::get(jwk, &name.into()).ok()?.as_string()?)?.try_into().ok()
}

const P1363: (&str, &str) = ("dsaEncoding", "ieee-p1363");

impl P256 for RuntimeP256 {
    fn public_key(&self, d: &[u8; 32]) -> Option<Point> {
        with_node_crypto(|c| {
            let private = c.create_private_key(&private_key(d, &[])).ok()?;
            let jwk = c.create_public_key(&private).ok()?.export(&object(&[("format", &"jwk".into())])).ok()?;
            let mut point = [0u8; 64];
            point[..32].copy_from_slice(&coordinate(&jwk, "x")?);
            point[32..].copy_from_slice(&coordinate(&jwk, "y")?);
            Some(point)
        })
    }

    fn sign(&self, d: &[u8; 32], message: &[u8]) -> Option<[u8; 64]> {
        with_node_crypto(|c| {
            let key = private_key(d, &[(P1363.0, &P1363.1.into())]);
            c.sign("sha256", message, &key).ok()?.to_vec().try_into().ok()
        })
    }

    fn is_point(&self, point: &Point) -> bool {
        with_node_crypto(|c| c.create_public_key(&public_key(point, &[]).into()).ok()).is_some()
    }

    fn verify(&self, point: &Point, message: &[u8], signature: &[u8; 64]) -> bool {
        with_node_crypto(|c| {
            c.verify("sha256", message, &public_key(point, &[(P1363.0, &P1363.1.into())]), signature).ok()
        })
        .unwrap_or(false)
    }
}
