//! The few runtime helpers the adapter needs, on wasm-bindgen directly:
//! the error log, an error's text, and the Worker's `env`.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(text: &str);
}

/// Writes `text` to the Worker's log (`console.error`).
pub(crate) fn log_error(text: &str) {
    console_error(text);
}

/// A thrown JavaScript value as text: an `Error`'s name and message, a
/// string as it is, anything else as its `String()` form.
pub(crate) fn js_text(value: &JsValue) -> String {
    if let Some(e) = value.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", String::from(e.name()), String::from(e.message()));
    }
    value.as_string().unwrap_or_else(|| format!("{value:?}"))
}

/// An error of ours, as the runtime would throw it.
pub(crate) fn error(text: &str) -> JsValue {
    js_sys::Error::new(text).into()
}

/// The binding `name` of the Worker's `env`, if it has one.
pub(crate) fn binding(env: &JsValue, name: &str) -> Option<JsValue> {
    js_sys::Reflect::get(env, &JsValue::from_str(name)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// A var or secret of the Worker's `env` (a string binding), if set.
pub(crate) fn string(env: &JsValue, name: &str) -> Option<String> {
    binding(env, name).and_then(|v| v.as_string())
}
