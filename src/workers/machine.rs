//! The crate's own Worker runs each request as a task that its JavaScript
//! entry drives (`src/workers/shim.mjs`): the request's head comes in as one
//! string, and the task answers with one string, either the response or
//! the one storage operation it waits for, which the entry runs and hands
//! back ([`Requests::resume`]). So a request crosses between JavaScript and
//! the WASM a few times, with text, instead of once per header, promise,
//! closure and response part (README, Performance: the glue).
//!
//! The strings, fields separated by NUL (`\0`), the kind and the task's id
//! first:
//!
//! - `R id status n name value … body`: the response, its `n` headers, then
//!   the body (the rest of the string, which may hold anything);
//! - `b id`: the body is to be read (then [`Requests::body`]);
//! - `g id key`, `p id ttl key value`, `d id key`: a KV `get`, `put` (with
//!   `expirationTtl`), `delete` on the `KV` binding;
//! - `c id subject command`: the `Grants` object's `run(command)` for
//!   `subject`, raced against [`CALL_TIMEOUT_MS`]: its reply, or none;
//! - `l id subject command`: the same call, after the response
//!   (`ctx.waitUntil`), the task going on at once;
//! - `w id`: the task waits for something of its own (a `fetch`: client
//!   metadata, the key check), whose waker calls `globalThis.__oauth_wake(id)`;
//!   then [`Requests::poll`].
//!
//! Keys, values, subjects and commands are the provider's own text (base64url,
//! JSON), which never holds a NUL.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use wasm_bindgen::prelude::wasm_bindgen;

use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::store::grant_wire::decode_reply;
use crate::store::{GrantStore, NoGrants, Store, StoreError};

use super::grants::CALL_TIMEOUT_MS;
use super::js::log_error;

/// What a task asked of the entry, and the entry's answer.
#[derive(Default)]
pub(crate) struct Io {
    op: Option<String>,
    outcome: Option<Result<Option<String>, String>>,
    body: Option<Vec<u8>>,
}

pub(crate) type Shared = Rc<RefCell<Io>>;

struct Task {
    future: Pin<Box<dyn Future<Output = crate::Response>>>,
    io: Shared,
}

#[derive(Default)]
struct Tasks {
    last: u32,
    running: HashMap<u32, Task>,
}

thread_local! {
    static TASKS: RefCell<Tasks> = RefCell::new(Tasks::default());
}

/// One operation of a task: asks the entry, then waits for its answer.
async fn ask(io: &Shared, op: String) -> Result<Option<String>, String> {
    io.borrow_mut().op = Some(op);
    std::future::poll_fn(|_| match io.borrow_mut().outcome.take() {
        Some(outcome) => Poll::Ready(outcome),
        None => Poll::Pending,
    })
    .await
}

/// The request's body, from the entry (empty when it could not be read).
pub(crate) async fn read_body(io: &Shared) -> Vec<u8> {
    let _ = ask(io, "b".to_string()).await;
    io.borrow_mut().body.take().unwrap_or_default()
}

/// [`Store`] on the `KV` binding, through the entry.
pub(crate) struct EntryKv(Shared);

impl Store for EntryKv {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        ask(&self.0, format!("g\0{key}")).await.map_err(StoreError)
    }

    async fn put(&self, key: &str, value: &str, ttl_secs: u64) -> Result<(), StoreError> {
        let ttl = super::kv::kv_ttl(ttl_secs);
        ask(&self.0, format!("p\0{ttl}\0{key}\0{value}")).await.map(drop).map_err(StoreError)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        ask(&self.0, format!("d\0{key}")).await.map(drop).map_err(StoreError)
    }
}

/// [`GrantStore`] on the `GRANTS` namespace through the entry, or
/// [`NoGrants`] naming the missing binding.
pub(crate) enum EntryGrants {
    Bound(Shared),
    Missing(NoGrants),
}

impl GrantStore for EntryGrants {
    async fn call(&self, subject: &str, command: GrantCommand) -> Result<GrantReply, StoreError> {
        let io = match self {
            EntryGrants::Bound(io) => io,
            EntryGrants::Missing(none) => return none.call(subject, command).await,
        };
        let op = format!("c\0{subject}\0{}", crate::json::encode(&command));
        match ask(io, op).await {
            Ok(Some(text)) => {
                decode_reply(&text).map_err(|e| StoreError(format!("grant object: not a grant reply: {e}")))
            }
            Ok(None) => Err(StoreError(format!("grant object: no answer within {CALL_TIMEOUT_MS} ms"))),
            Err(e) => Err(StoreError(format!("grant object: {e}"))),
        }
    }

    async fn call_later(&self, subject: &str, command: GrantCommand) -> Result<(), StoreError> {
        let io = match self {
            EntryGrants::Bound(io) => io,
            EntryGrants::Missing(none) => return none.call_later(subject, command).await,
        };
        let op = format!("l\0{subject}\0{}", crate::json::encode(&command));
        ask(io, op).await.map(drop).map_err(|e| StoreError(format!("grant object: {e}")))
    }

    fn bound(&self) -> bool {
        matches!(self, EntryGrants::Bound(_))
    }

    fn unbound_reason(&self) -> &str {
        match self {
            EntryGrants::Bound(_) => "",
            EntryGrants::Missing(none) => none.unbound_reason(),
        }
    }
}

/// A new task's stores, sharing its [`Io`].
pub(crate) fn stores(grants: Option<NoGrants>) -> (Shared, EntryKv, EntryGrants) {
    let io = Shared::default();
    let grants = match grants {
        None => EntryGrants::Bound(io.clone()),
        Some(missing) => EntryGrants::Missing(missing),
    };
    (io.clone(), EntryKv(io), grants)
}

/// Starts a task, or answers at once when it waits for nothing.
pub(crate) fn start(io: Shared, future: impl Future<Output = crate::Response> + 'static) -> String {
    let id = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        tasks.last = tasks.last.wrapping_add(1);
        tasks.last
    });
    drive(id, Task { future: Box::pin(future), io })
}

/// The response, as the entry reads it (`R id status n name value … body`).
/// A header holding a NUL would shift every field after it: none can (the
/// runtime's `Headers` refuses one too), so such a response is a logged 500.
pub(crate) fn response_text(id: u32, response: crate::Response) -> String {
    if response.headers.iter().any(|(n, v)| n.contains('\0') || v.contains('\0')) {
        log_error("a response header held a NUL; answered 500 instead");
        let refused = crate::protocol::error::json_error(500, "server_error", "internal error; see the server log");
        return response_text(id, refused);
    }
    let body = String::from_utf8(response.body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let mut out = String::with_capacity(body.len() + 64 * (response.headers.len() + 1));
    let _ = write!(out, "R\0{id}\0{}\0{}", response.status, response.headers.len());
    for (name, value) in &response.headers {
        let _ = write!(out, "\0{name}\0{value}");
    }
    out.push('\0');
    out.push_str(&body);
    out
}

/// Polls the task once: its response, or what it waits for (and it is kept).
fn drive(id: u32, mut task: Task) -> String {
    let waker = task_waker(id);
    match task.future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(response) => response_text(id, response),
        Poll::Pending => {
            let op = task.io.borrow_mut().op.take();
            keep(id, task);
            match op {
                Some(op) => {
                    let (kind, rest) = op.split_at(1);
                    format!("{kind}\0{id}{rest}")
                }
                None => format!("w\0{id}"),
            }
        }
    }
}

/// The most tasks kept waiting in one isolate. A request whose client went
/// away while it waited is never resumed (the runtime drops its promises), so
/// its task would stay forever: past this many, the oldest goes.
const MAX_WAITING: usize = 4096;

/// Keeps a waiting task until the entry resumes it.
fn keep(id: u32, task: Task) {
    let dropped = TASKS.with(|t| {
        let mut tasks = t.borrow_mut();
        tasks.running.insert(id, task);
        if tasks.running.len() <= MAX_WAITING {
            return None;
        }
        // The oldest: the one started longest before `id` (ids wrap).
        let oldest = tasks.running.keys().copied().max_by_key(|&other| id.wrapping_sub(other))?;
        tasks.running.remove(&oldest)
    });
    if dropped.is_some() {
        log_error("a request's task waited too long and was dropped (more than 4096 were waiting)");
    }
}

/// The task `id`, taken out to be polled; `None` once it has answered.
fn take(id: u32) -> Option<Task> {
    TASKS.with(|t| t.borrow_mut().running.remove(&id))
}

/// A task id's answer when the task is gone (never expected): a 500.
fn gone(id: u32) -> String {
    log_error("the entry resumed a request that is not running");
    response_text(id, crate::protocol::error::json_error(500, "server_error", "internal error; see the server log"))
}

#[wasm_bindgen]
extern "C" {
    /// The entry's wake-up for a task waiting on its own future (`w`).
    #[wasm_bindgen(js_namespace = globalThis, js_name = __oauth_wake)]
    fn wake_entry(id: u32);
}

fn task_waker(id: u32) -> Waker {
    const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake, drop_waker);
    fn clone(data: *const ()) -> RawWaker {
        RawWaker::new(data, &VTABLE)
    }
    fn wake(data: *const ()) {
        wake_entry(data as usize as u32);
    }
    fn drop_waker(_: *const ()) {}
    // SAFETY: the data is the task's id, not a pointer; every function of
    // the table only copies or reads it.
    unsafe { Waker::from_raw(RawWaker::new(id as usize as *const (), &VTABLE)) }
}

/// What the entry calls between a request's first answer and its last.
#[wasm_bindgen]
pub struct Requests;

#[wasm_bindgen]
impl Requests {
    /// The answer to task `id`'s operation: its value (a KV value, a grant
    /// reply; none for an absent key, a timeout, or an operation with no
    /// value), or the text of its failure.
    pub fn resume(id: u32, value: Option<String>, failure: Option<String>) -> String {
        let Some(task) = take(id) else { return gone(id) };
        task.io.borrow_mut().outcome = Some(match failure {
            Some(why) => Err(why),
            None => Ok(value),
        });
        drive(id, task)
    }

    /// Task `id`'s request body (none: it could not be read, an empty one).
    pub fn body(id: u32, body: Option<Vec<u8>>) -> String {
        let Some(task) = take(id) else { return gone(id) };
        let mut io = task.io.borrow_mut();
        io.body = body;
        io.outcome = Some(Ok(None));
        drop(io);
        drive(id, task)
    }

    /// The request headers the entry copies into a request's head, NUL-separated.
    pub fn headers() -> String {
        let mut names = crate::http::REQUEST_HEADERS.join("\0");
        names.push_str("\0accept");
        names
    }

    /// How long the entry waits for a grant object's call (`c`, and `l`
    /// before it logs one as overdue), in milliseconds.
    #[wasm_bindgen(js_name = callTimeoutMs)]
    pub fn call_timeout_ms() -> u32 {
        CALL_TIMEOUT_MS
    }

    /// Polls task `id` again after its own future woke it (`w`).
    pub fn poll(id: u32) -> String {
        match take(id) {
            Some(task) => drive(id, task),
            None => gone(id),
        }
    }

    /// An `l` call's outcome, after the response: logs a failure.
    #[wasm_bindgen(js_name = laterSettled)]
    pub fn later_settled(reply: Option<String>, failure: Option<String>) {
        let why = match (reply, failure) {
            (_, Some(why)) => why,
            (Some(text), None) => match decode_reply(&text) {
                Ok(_) => return,
                Err(e) => format!("not a grant reply: {e}"),
            },
            (None, None) => format!("no answer within {CALL_TIMEOUT_MS} ms"),
        };
        log_error(&format!("grant store failed (after the response): grant object: {why}"));
    }
}
