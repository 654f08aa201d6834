//! Outgoing `fetch` for the core: client metadata documents.

use std::future::Future;
use std::pin::Pin;

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::key_check::{message, AbortOnDrop};
use crate::clients::cimd::{self, Fetch, Fetched};

/// [`Fetch`] for client metadata documents with the global `fetch`: no
/// redirects followed (a document must be served at its own URL), 10 s
/// timeout, at most 5 KB read. In production the `global_fetch_strictly_public`
/// compatibility flag keeps it off private addresses. Plain `web_sys`, not
/// `worker::Fetch`: `worker`'s request conversion brings its `cf` options'
/// serializers into the WASM.
pub struct WorkerFetch;

impl Fetch for WorkerFetch {
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Fetched, String>> + 'a>> {
        Box::pin(async move {
            let headers = web_sys::Headers::new().map_err(message)?;
            headers.set("accept", "application/json").map_err(message)?;
            let controller = web_sys::AbortController::new().map_err(message)?;
            let timeout = web_sys::AbortSignal::timeout_with_u32(cimd::FETCH_TIMEOUT_MS as u32);
            let init = web_sys::RequestInit::new();
            init.set_method("GET");
            init.set_headers(headers.as_ref());
            init.set_redirect(web_sys::RequestRedirect::Manual);
            init.set_signal(Some(&any_of(&controller.signal(), &timeout)));
            // Dropped (the provider stopped waiting, or the body is read): aborted.
            let _abort = AbortOnDrop(controller);
            let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            let response = JsFuture::from(global.fetch_with_str_and_init(url, &init)).await.map_err(message)?;
            let response: web_sys::Response = response.dyn_into().map_err(|_| "fetch gave no response")?;
            let status = response.status();
            let cache_control = response.headers().get("cache-control").ok().flatten();
            let declared =
                response.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
            if declared.is_some_and(|l| l > cimd::MAX_DOCUMENT) {
                return Err("document larger than 5 KB".into());
            }
            let body = match response.body() {
                Some(stream) => read_at_most(&stream, cimd::MAX_DOCUMENT).await?,
                None => Vec::new(),
            };
            Ok(Fetched { status, cache_control, body })
        })
    }
}

/// A signal that aborts when either does (`AbortSignal.any`).
fn any_of(a: &web_sys::AbortSignal, b: &web_sys::AbortSignal) -> web_sys::AbortSignal {
    web_sys::AbortSignal::any(&js_sys::Array::of2(a, b))
}

/// The body, chunk by chunk, stopping one chunk past `limit` bytes whatever
/// the server declared (a chunked body has no Content-Length); the rest is
/// cancelled unread.
async fn read_at_most(stream: &web_sys::ReadableStream, limit: usize) -> Result<Vec<u8>, String> {
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(message)?;
        let done = js_sys::Reflect::get(&chunk, &"done".into()).map_err(message)?;
        if done.is_truthy() {
            return Ok(body);
        }
        let value = js_sys::Reflect::get(&chunk, &"value".into()).map_err(message)?;
        let bytes = value.dyn_into::<js_sys::Uint8Array>().map_err(|_| "the body is not bytes")?;
        body.extend_from_slice(&bytes.to_vec());
        if body.len() > limit {
            let _ = reader.cancel();
            return Ok(body);
        }
    }
}
