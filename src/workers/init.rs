//! What worker-build's JavaScript entry asks of the WASM, when the `worker`
//! crate (which otherwise provides it) is not linked: `__worker_init_state()`,
//! the object the entry marks `criticalError` on when the instance must be
//! rebuilt (a trap, a panic) and whose `instanceId` it counts, and a panic
//! hook that logs the panic and marks it. Without a hook a panic would leave
//! no trace: the WASM has no stderr.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

const STATE: &str = "__worker_init_state";

/// The isolate's state object (`globalThis.__worker_init_state`), made on
/// first use.
fn state() -> JsValue {
    let global = js_sys::global();
    if let Ok(state) = Reflect::get(&global, &STATE.into()) {
        if state.is_object() {
            return state;
        }
    }
    let state = Object::new();
    let _ = Reflect::set(&state, &"criticalError".into(), &false.into());
    let _ = Reflect::set(&state, &"instanceId".into(), &0.into());
    let _ = Reflect::set(&global, &STATE.into(), &state);
    state.into()
}

/// The state object, for the JavaScript entry.
#[wasm_bindgen(js_name = "__worker_init_state")]
pub fn init_state() -> JsValue {
    state()
}

#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        super::js::log_error(&format!("Rust panic: {info}"));
        let _ = Reflect::set(&state(), &"criticalError".into(), &true.into());
    }));
}
