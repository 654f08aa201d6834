//! Grants on Workers: [`DurableGrants`], the [`GrantStore`] that calls the
//! `Grants` Durable Object (one object per subject, SQLite storage; see
//! `grants_object.rs`) through the `GRANTS` namespace binding, and
//! [`BoundGrants`], what the crate's own Worker passes to the core.
//! Transport only: every decision is [`crate::grants::ledger::execute`]'s.

use std::cell::RefCell;

use super::js::{js_text, log_error};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::adapter::Thenable;

use crate::grants::ledger::{GrantCommand, GrantReply};
use crate::store::grant_wire::decode_reply;
use crate::store::{GrantStore, NoGrants, StoreError};

/// The binding the crate's own Worker looks for.
pub const GRANTS_BINDING: &str = "GRANTS";

/// How long [`DurableGrants::call`] waits for the object by default.
pub const CALL_TIMEOUT_MS: u32 = 5_000;

pub(crate) const MISSING: &str = "the GRANTS Durable Object binding is missing: wrangler.toml needs \
    [[durable_objects.bindings]] name = \"GRANTS\", class_name = \"Grants\" and a [[migrations]] \
    entry with new_sqlite_classes = [\"Grants\"]";

#[wasm_bindgen]
extern "C" {
    /// A Durable Object namespace binding: the two methods used here.
    #[derive(Clone)]
    type Namespace;

    #[wasm_bindgen(method, catch, js_name = idFromName)]
    fn id_from_name(this: &Namespace, name: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn get(this: &Namespace, id: &JsValue) -> Result<Stub, JsValue>;

    /// A Durable Object stub.
    type Stub;

    /// The `Grants` class's RPC method (`src/workers/shim.mjs`).
    #[wasm_bindgen(method, catch)]
    fn run(this: &Stub, command: &str) -> Result<js_sys::Promise, JsValue>;

    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: u32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

// ---------------------------------------------------------------- the client

thread_local! {
    /// The best-effort calls of this isolate not answered yet
    /// ([`GrantStore::call_later`]): a number and a start time (ms) each.
    static LATER: RefCell<Later> = RefCell::new(Later::default());
}

#[derive(Default)]
struct Later {
    last: u64,
    pending: Vec<(u64, f64)>,
}

/// Forgets the pending calls `done` picks; how many.
fn forget(done: impl Fn(u64, f64) -> bool) -> usize {
    LATER.with(|later| {
        let pending = &mut later.borrow_mut().pending;
        let before = pending.len();
        pending.retain(|&(id, started)| !done(id, started));
        before - pending.len()
    })
}

/// Forgets the calls started `timeout_ms` or more before `now`, one log line each.
fn log_overdue(now: f64, timeout_ms: u32) {
    for _ in 0..forget(|_, started| now - started >= f64::from(timeout_ms)) {
        log_error(&format!("grant store failed (after the response): grant object: no answer within {timeout_ms} ms"));
    }
}

/// [`GrantStore`] on the `Grants` Durable Object namespace: each call is one
/// RPC call (`run`) to the subject's object (`idFromName(subject)`), which runs the
/// command atomically. Any failure (the binding throws, the object answers
/// an error or something that is not a reply, or does not answer within
/// the timeout) is a [`StoreError`]; its text names no subject and no
/// value, only what went wrong.
#[derive(Clone)]
pub struct DurableGrants {
    namespace: Namespace,
    timeout_ms: u32,
    /// The request's `ctx`, whose `waitUntil` [`GrantStore::call_later`] uses.
    ctx: Option<JsValue>,
}

impl DurableGrants {
    /// The namespace bound as `binding`, if there is one.
    pub fn from_env(env: &JsValue, binding: &str) -> Option<Self> {
        let namespace = js_sys::Reflect::get(env, &binding.into()).ok().filter(JsValue::is_object)?;
        let is_namespace = js_sys::Reflect::get(&namespace, &"idFromName".into()).is_ok_and(|f| f.is_function());
        is_namespace.then(|| DurableGrants {
            namespace: namespace.unchecked_into(),
            timeout_ms: CALL_TIMEOUT_MS,
            ctx: None,
        })
    }

    /// Lets best-effort records ([`GrantStore::call_later`]) finish after
    /// the response, through the request's `ctx` (`ctx.waitUntil`): the
    /// client does not wait for the object. A `ctx` without `waitUntil`
    /// changes nothing.
    pub fn with_wait_until(mut self, ctx: &JsValue) -> Self {
        // Kept as it is: `waitUntil` is looked up only by a call that needs it.
        self.ctx = Some(ctx.clone());
        self
    }

    /// Waits at most `ms` milliseconds per call (default [`CALL_TIMEOUT_MS`]).
    pub fn with_timeout(mut self, ms: u32) -> Self {
        self.timeout_ms = ms;
        self
    }

    /// The object's reply (JSON) to `command`, `Ok(None)` when it has not
    /// answered within the timeout. One RPC call raced against one timer
    /// (an RPC call takes no `AbortSignal`; the runtime ends it with the
    /// request).
    async fn exchange(&self, subject: &str, command: &str) -> Result<Option<String>, JsValue> {
        let call = self.send(subject, command)?;
        let mut timer = JsValue::UNDEFINED;
        let ms = self.timeout_ms;
        let timeout = js_sys::Promise::new(&mut |resolve, _| timer = set_timeout(&resolve, ms));
        let answer = JsFuture::from(js_sys::Promise::race(&js_sys::Array::of2(&call, &timeout))).await;
        clear_timeout(&timer);
        // A reply is a string; the timer resolves to `undefined`.
        Ok(answer?.as_string())
    }

    /// The RPC call to `subject`'s object: the promise of its reply.
    fn send(&self, subject: &str, command: &str) -> Result<js_sys::Promise, JsValue> {
        self.namespace.get(&self.namespace.id_from_name(subject)?)?.run(command)
    }
}

impl GrantStore for DurableGrants {
    async fn call(&self, subject: &str, command: GrantCommand) -> Result<GrantReply, StoreError> {
        let body = crate::json::encode(&command);
        let text = match self.exchange(subject, &body).await {
            Ok(Some(text)) => text,
            Ok(None) => return Err(StoreError(format!("grant object: no answer within {} ms", self.timeout_ms))),
            Err(e) => return Err(StoreError(format!("grant object: {}", js_text(&e)))),
        };
        decode_reply(&text).map_err(|e| StoreError(format!("grant object: not a grant reply: {e}")))
    }

    async fn call_later(&self, subject: &str, command: GrantCommand) -> Result<(), StoreError> {
        let wait_until = self.ctx.as_ref().and_then(|ctx| {
            let f = js_sys::Reflect::get(ctx, &"waitUntil".into()).ok()?.dyn_into::<js_sys::Function>().ok()?;
            Some((ctx, f))
        });
        let Some((ctx, wait_until)) = wait_until else {
            return self.call(subject, command).await.map(|_| ());
        };
        // After the response no one waits: the RPC promise itself goes to
        // `waitUntil`, and a call that has not answered within the timeout is
        // logged by the next best-effort call of the isolate, not by a timer
        // per call (a timer, a race and a Rust future per exchange cost up to
        // 3% of a passthrough flow's CPU, README "Performance").
        let now = js_sys::Date::now();
        log_overdue(now, self.timeout_ms);
        let body = crate::json::encode(&command);
        let call = self.send(subject, &body).map_err(|e| StoreError(format!("grant object: {}", js_text(&e))))?;
        let id = LATER.with(|later| {
            let mut later = later.borrow_mut();
            later.last += 1;
            let id = later.last;
            later.pending.push((id, now));
            id
        });
        // A reply is a string; a failure, an Error.
        let on_settled = Closure::once_into_js(move |outcome: JsValue| {
            if forget(|n, _| n == id) == 0 {
                return; // already logged as overdue
            }
            let failure = match outcome.as_string() {
                Some(text) => decode_reply(&text).err().map(|e| format!("not a grant reply: {e}")),
                None => Some(js_text(&outcome)),
            };
            if let Some(why) = failure {
                log_error(&format!("grant store failed (after the response): grant object: {why}"));
            }
        });
        let later = call.unchecked_ref::<Thenable>().then_either(&on_settled, &on_settled);
        wait_until.call1(ctx, &later).map(|_| ()).map_err(|e| StoreError(js_text(&e)))
    }
}

/// The grant store of a Worker's environment: the [`GRANTS_BINDING`]
/// namespace, or, when it is not bound, [`NoGrants`] naming what is
/// missing (sealed tokens are then refused with a 503, and the log says
/// why).
pub enum BoundGrants {
    /// The `GRANTS` namespace.
    Durable(DurableGrants),
    /// No `GRANTS` binding.
    Missing(NoGrants),
}

impl BoundGrants {
    /// The `GRANTS` binding of `env`, or [`NoGrants`] naming it.
    pub fn from_env(env: &JsValue) -> Self {
        DurableGrants::from_env(env, GRANTS_BINDING).map_or(BoundGrants::Missing(NoGrants(MISSING)), Self::Durable)
    }

    /// [`DurableGrants::with_wait_until`] on the bound namespace.
    pub fn with_wait_until(self, ctx: &JsValue) -> Self {
        match self {
            BoundGrants::Durable(grants) => BoundGrants::Durable(grants.with_wait_until(ctx)),
            missing => missing,
        }
    }
}

impl GrantStore for BoundGrants {
    async fn call(&self, subject: &str, command: GrantCommand) -> Result<GrantReply, StoreError> {
        match self {
            BoundGrants::Durable(grants) => grants.call(subject, command).await,
            BoundGrants::Missing(none) => none.call(subject, command).await,
        }
    }

    async fn call_later(&self, subject: &str, command: GrantCommand) -> Result<(), StoreError> {
        match self {
            BoundGrants::Durable(grants) => grants.call_later(subject, command).await,
            BoundGrants::Missing(none) => none.call_later(subject, command).await,
        }
    }

    fn bound(&self) -> bool {
        matches!(self, BoundGrants::Durable(_))
    }

    fn unbound_reason(&self) -> &str {
        match self {
            BoundGrants::Durable(_) => "",
            BoundGrants::Missing(none) => none.unbound_reason(),
        }
    }
}
