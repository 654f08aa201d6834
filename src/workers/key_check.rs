//! Outgoing `fetch` for the core: the key check (`KEY_CHECK_URL`).

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::grants::key_check::{BoxFuture, KeyChecker, Probe};

/// [`KeyChecker`] with the global `fetch`: `GET` with the one header and
/// nothing else (no body; a Worker's `fetch` has no cookie jar and sends
/// no credentials of its own), `redirect: "manual"` (a 3xx is the answer,
/// never followed), the response body cancelled unread, and the request
/// aborted when the provider stops waiting (it drops the future at
/// `KEY_CHECK_TIMEOUT_MS`). The timer is `setTimeout` behind a promise,
/// which wakes whichever executor polls it last (`worker::Delay` keeps the
/// waker of its first poll, which may be the adapter's synchronous one).
pub struct WorkerKeyChecker;

/// Aborts the request when the future that sent it is dropped.
pub(super) struct AbortOnDrop(pub(super) web_sys::AbortController);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Clears the timer when the sleep is dropped before it fired.
struct ClearOnDrop(Option<i32>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        if let Some(id) = self.0 {
            js_sys::global().unchecked_into::<web_sys::WorkerGlobalScope>().clear_timeout_with_handle(id);
        }
    }
}

/// A runtime error's message, for the log (the core withholds it if it
/// quotes the request).
pub(super) fn message(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "fetch failed".into())
}

impl KeyChecker for WorkerKeyChecker {
    fn send<'a>(&'a self, probe: &'a Probe<'a>) -> BoxFuture<'a, Result<u16, String>> {
        Box::pin(async move {
            let headers = web_sys::Headers::new().map_err(message)?;
            // The runtime's message could quote the value: say only what failed.
            headers.set(probe.header, probe.value.expose()).map_err(|_| "the key is not a valid header value")?;
            let controller = web_sys::AbortController::new().map_err(message)?;
            let init = web_sys::RequestInit::new();
            init.set_method("GET");
            init.set_headers(headers.as_ref());
            init.set_redirect(web_sys::RequestRedirect::Manual);
            init.set_signal(Some(&controller.signal()));
            let _abort = AbortOnDrop(controller);
            let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            let response = JsFuture::from(global.fetch_with_str_and_init(probe.url, &init)).await.map_err(message)?;
            let response: web_sys::Response = response.dyn_into().map_err(|_| "fetch gave no response")?;
            if let Some(body) = response.body() {
                // Nothing of the body is read; its promise is not awaited.
                let _ = body.cancel();
            }
            Ok(response.status())
        })
    }

    fn sleep(&self, ms: u64) -> BoxFuture<'static, ()> {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let mut timer = None;
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let fired = js_sys::Promise::new(&mut |resolve, _reject| {
            timer = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms).ok();
        });
        let timer = ClearOnDrop(timer);
        Box::pin(async move {
            let _timer = timer;
            let _ = JsFuture::from(fired).await;
        })
    }
}
