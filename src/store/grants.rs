//! The strongly consistent grant store: one subject's grants change one
//! command at a time ([`crate::grants::ledger::execute`]). On Workers it is
//! a Durable Object per subject with SQLite storage; here, the trait, an
//! in-memory implementation for tests and embedding, and [`NoGrants`] for a
//! deployment without one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::StoreError;
#[cfg(test)]
use crate::grants::ledger::GrantRecord;
use crate::grants::ledger::{execute, GrantCommand, GrantReply, MemoryTable};

/// A store of grants, one strongly consistent table per subject: every
/// command sees the effects of every command answered before it.
#[allow(async_fn_in_trait)]
pub trait GrantStore {
    /// Runs `command` on `subject`'s grants, atomically.
    async fn call(&self, subject: &str, command: GrantCommand) -> Result<GrantReply, StoreError>;

    /// Runs `command` when its answer is not needed now (a best-effort
    /// record): a store that can finish work after the response (on
    /// Workers, `ctx.waitUntil`) returns at once and logs a failure itself;
    /// by default it is [`GrantStore::call`], awaited.
    async fn call_later(&self, subject: &str, command: GrantCommand) -> Result<(), StoreError> {
        self.call(subject, command).await.map(|_| ())
    }

    /// Whether a store is there at all ([`NoGrants`] is not).
    fn bound(&self) -> bool {
        true
    }

    /// Why not, for the log line of a refused issue.
    fn unbound_reason(&self) -> &str {
        ""
    }
}

/// No grant store is bound: every call fails, naming what is missing, so
/// that sealed mode refuses to issue rather than silently doing less.
#[derive(Debug, Clone, Copy)]
pub struct NoGrants(pub &'static str);

impl Default for NoGrants {
    fn default() -> Self {
        NoGrants("no grant store is configured (on Workers: the GRANTS Durable Object binding)")
    }
}

impl GrantStore for NoGrants {
    async fn call(&self, _subject: &str, _command: GrantCommand) -> Result<GrantReply, StoreError> {
        Err(StoreError(self.0.to_string()))
    }

    fn bound(&self) -> bool {
        false
    }

    fn unbound_reason(&self) -> &str {
        self.0
    }
}

/// The in-memory grant store. It can be told to fail before a command
/// (nothing happens) or after it (the command took effect but the caller
/// sees a failure, like a timeout after the write), to test what clients
/// see when storage is down.
#[derive(Default)]
pub struct MemoryGrantStore {
    subjects: Mutex<HashMap<String, MemoryTable>>,
    failing: AtomicBool,
    failing_after: AtomicBool,
}

impl MemoryGrantStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every following command fail without taking effect.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes every following command take effect and then fail.
    pub fn set_failing_after_commit(&self, failing: bool) {
        self.failing_after.store(failing, Ordering::SeqCst);
    }

    /// Everything stored, as JSON: what someone who reads the whole store sees.
    pub fn dump(&self) -> String {
        let subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
        use crate::json::{ToJson, Value};
        let mut all: Vec<(&String, &MemoryTable)> = subjects.iter().collect();
        all.sort_by(|a, b| a.0.cmp(b.0));
        let all = all.into_iter().map(|(subject, t)| {
            let grants = t.grants.values().map(ToJson::to_json).collect::<Vec<_>>();
            let docs = t.docs.values().map(Value::from).collect::<Vec<_>>();
            Value::Array(vec![subject.into(), grants.into(), docs.into()])
        });
        Value::Array(all.collect()).to_string()
    }
}

impl GrantStore for MemoryGrantStore {
    async fn call(&self, subject: &str, command: GrantCommand) -> Result<GrantReply, StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError("memory grant store set to fail".into()));
        }
        let reply = {
            let mut subjects = self.subjects.lock().unwrap_or_else(|p| p.into_inner());
            execute(subjects.entry(subject.to_string()).or_default(), command)
        };
        if self.failing_after.load(Ordering::SeqCst) {
            return Err(StoreError("memory grant store set to fail after the write".into()));
        }
        Ok(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::block_on;

    #[test]
    fn subjects_are_apart_and_failures_are_reported() {
        let s = MemoryGrantStore::new();
        let rec = crate::json::from_slice::<GrantRecord>(
            br#"{"id": "g", "client_id": "c", "mode": "sealed", "created": 1, "last_used": 1,
            "generation": 0, "rotated_at": 1, "revoked": false}"#,
        )
        .unwrap();
        block_on(s.call("a", GrantCommand::Create { record: rec })).unwrap();
        let get = || GrantCommand::Get { id: "g".into() };
        assert!(matches!(block_on(s.call("a", get())).unwrap(), GrantReply::Record { record: Some(_) }));
        assert_eq!(block_on(s.call("b", get())).unwrap(), GrantReply::Record { record: None });
        s.set_failing(true);
        assert!(block_on(s.call("a", get())).is_err());
        s.set_failing(false);
        s.set_failing_after_commit(true);
        assert!(block_on(s.call("a", GrantCommand::Revoke { id: None })).is_err());
        s.set_failing_after_commit(false);
        let Ok(GrantReply::Record { record: Some(r) }) = block_on(s.call("a", get())) else { panic!() };
        assert!(r.revoked, "the failed-after-commit revoke took effect");
        assert!(block_on(NoGrants::default().call("a", get())).unwrap_err().0.contains("GRANTS"));
    }
}
