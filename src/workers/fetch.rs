//! Outgoing `fetch` for the core: client metadata documents.

use std::future::Future;
use std::pin::Pin;

use futures_core::Stream;
use worker::Headers;

use crate::clients::cimd::{self, Fetch, Fetched};

/// [`Fetch`] for client metadata documents with the global `fetch`: no
/// redirects followed (a document must be served at its own URL), 10 s
/// timeout, at most 5 KB read. In production the `global_fetch_strictly_public`
/// compatibility flag keeps it off private addresses.
pub struct WorkerFetch;

impl Fetch for WorkerFetch {
    fn fetch<'a>(&'a self, url: &'a str) -> Pin<Box<dyn Future<Output = Result<Fetched, String>> + 'a>> {
        Box::pin(async move {
            let headers = Headers::new();
            headers.set("accept", "application/json").map_err(|e| e.to_string())?;
            let mut init = worker::RequestInit::new();
            init.with_headers(headers).with_redirect(worker::RequestRedirect::Manual);
            let request = worker::Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
            let controller = worker::AbortController::default();
            let signal = controller.signal();
            worker::wasm_bindgen_futures::spawn_local(async move {
                worker::Delay::from(std::time::Duration::from_millis(cimd::FETCH_TIMEOUT_MS)).await;
                controller.abort();
            });
            let mut response =
                worker::Fetch::Request(request).send_with_signal(&signal).await.map_err(|e| e.to_string())?;
            let status = response.status_code();
            let cache_control = response.headers().get("cache-control").ok().flatten();
            let declared =
                response.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
            if declared.is_some_and(|l| l > cimd::MAX_DOCUMENT) {
                return Err("document larger than 5 KB".into());
            }
            // Read chunk by chunk and stop one byte past the limit, whatever
            // the server declared (a chunked body has no Content-Length).
            let mut stream = response.stream().map_err(|e| e.to_string())?;
            let mut body = Vec::new();
            while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
                body.extend_from_slice(&chunk.map_err(|e| e.to_string())?);
                if body.len() > cimd::MAX_DOCUMENT {
                    break;
                }
            }
            Ok(Fetched { status, cache_control, body })
        })
    }
}
