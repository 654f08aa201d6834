//! The `Grants` Durable Object: one object per subject (the
//! [`super::DurableGrants`] client names it with `idFromName(subject)`),
//! with SQLite storage, called over RPC. Its class is the few lines of
//! JavaScript in `src/workers/shim.mjs` around [`GrantsSql`], which is
//! here. Persistence only: every decision is [`ledger::execute`]'s. Behind
//! the `grants-object` feature.
//!
//! The object stores one row per [`GrantRecord`]:
//!
//! ```sql
//! CREATE TABLE grants (id TEXT PRIMARY KEY, created INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID
//! CREATE TABLE docs (key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID
//! ```
//!
//! `docs` holds the device flow's records (RFC 8628), in the one object of
//! the subject [`crate::grants::device::DEVICE_SUBJECT`].
//!
//! `record` is the record's JSON (its form in [`crate::store::grant_wire`]),
//! so a field added to [`GrantRecord`] as optional needs no migration; `created`
//! is a column so that listing is ordered by SQLite. There is no index
//! beyond the primary key: one subject has a handful of grants, and each
//! index would be one more row written (and billed) per change.
//!
//! Each command runs inside `storage.transactionSync`, with synchronous
//! `sql.exec` calls only: nothing awaits between reading a record and
//! writing it, so the object's single thread runs one command at a time,
//! and a command that fails half-way (a storage error) is rolled back as a
//! whole. The bindings are plain `wasm_bindgen` externs (like
//! [`super::KvNamespace`]), not `worker`'s wrappers: no serde round trip
//! through `JsValue`, and a throwing cursor is an error, not an unwinding
//! exception.

use std::cell::{Cell, RefCell};

use super::js::log_error;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::js::js_text;
use crate::grants::ledger::{self, GrantCommand, GrantRecord, GrantTable};
use crate::store::grant_wire::decode_command;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS grants \
    (id TEXT PRIMARY KEY, created INTEGER NOT NULL, record TEXT NOT NULL) WITHOUT ROWID";
/// Documents: device records, their user-code index, guess counters (only
/// in the device subject's object).
const DOCS_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS docs (key TEXT PRIMARY KEY, doc TEXT NOT NULL) WITHOUT ROWID";

#[wasm_bindgen]
extern "C" {
    /// The object's `ctx.storage`.
    type Storage;

    #[wasm_bindgen(method, getter, catch)]
    fn sql(this: &Storage) -> Result<Sql, JsValue>;

    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(this: &Storage, callback: &JsValue) -> Result<JsValue, JsValue>;

    /// `ctx.storage.sql`.
    type Sql;

    #[wasm_bindgen(method, catch, variadic)]
    fn exec(this: &Sql, query: &str, bindings: js_sys::Array) -> Result<Cursor, JsValue>;

    /// What `exec` returns.
    type Cursor;

    #[wasm_bindgen(method, catch, js_name = toArray)]
    fn to_array(this: &Cursor) -> Result<js_sys::Array, JsValue>;
}

/// The storage side of the `Grants` Durable Object class: one object per
/// subject (`idFromName(subject)`). The class itself is JavaScript
/// (`src/workers/shim.mjs`, the Worker's entry): the runtime offers RPC only
/// on a class that `extends DurableObject`, which a WASM export cannot. It
/// holds one `GrantsSql` and answers each RPC `run(command)` with
/// [`GrantsSql::run`]: a JSON [`GrantCommand`] in, the JSON
/// [`GrantReply`](crate::grants::ledger::GrantReply) out, in one
/// synchronous call. Exported under the `grants-object` feature (a default
/// one); bind the class in `wrangler.toml`:
///
/// ```toml
/// [[durable_objects.bindings]]
/// name = "GRANTS"
/// class_name = "Grants"
///
/// [[migrations]]
/// tag = "v1"
/// new_sqlite_classes = ["Grants"]
/// ```
///
/// RPC rather than `fetch`: no Request, Response or HTTP framing per
/// command, and under `wrangler dev` no DevTools network events (which
/// wrangler forwards to Node one message each: ~2 ms of workerd and
/// 2.5–5 ms of Node CPU per call, measured).
#[wasm_bindgen]
pub struct GrantsSql {
    storage: Storage,
    /// The table exists (created by a committed command of this instance).
    ready: Cell<bool>,
}

#[wasm_bindgen]
impl GrantsSql {
    /// Called by the class's constructor with the object's `ctx` (its
    /// `storage`).
    #[wasm_bindgen(constructor)]
    pub fn new(ctx: JsValue) -> GrantsSql {
        let storage = js_sys::Reflect::get(&ctx, &"storage".into()).unwrap_or(JsValue::UNDEFINED);
        GrantsSql { storage: storage.unchecked_into(), ready: Cell::new(false) }
    }

    /// Runs one command (its JSON) atomically; the reply's JSON. Throws an
    /// `Error` whose message starts with `bad_command:` for a body that is
    /// not a command and `storage_error:` when storage fails (nothing is
    /// changed then).
    pub fn run(&self, command: JsValue) -> Result<String, JsValue> {
        let bad = |why: String| js_sys::Error::new(&format!("bad_command: {why}"));
        let command = command.as_string().ok_or_else(|| bad("the command must be a string".into()))?;
        let command = decode_command(&command).map_err(|e| bad(format!("not a grant command: {e}")))?;
        transact(&self.storage, &self.ready, command).map_err(|e| {
            log_error(&format!("grant object: {}", e));
            js_sys::Error::new(&format!("storage_error: {e}")).into()
        })
    }
}

/// Runs `command` in one `transactionSync`: the reply's JSON, or why
/// nothing was changed.
fn transact(storage: &Storage, ready: &Cell<bool>, command: GrantCommand) -> Result<String, String> {
    let sql = storage.sql().map_err(|e| {
        format!("no SQL storage ({}): the Grants class must be in a migration's new_sqlite_classes", js_text(&e))
    })?;
    let create = !ready.get();
    // Called (once, synchronously) by transactionSync; freed when dropped here.
    let callback = Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::once(move || {
        let mut table = SqlTable { sql, error: RefCell::new(None) };
        if create {
            table.run(SCHEMA, &[]);
            table.run(DOCS_SCHEMA, &[]);
        }
        let reply = ledger::execute(&mut table, command);
        match table.error.into_inner() {
            // Thrown: transactionSync rolls everything back.
            Some(e) => Err(JsValue::from_str(&e)),
            None => Ok(JsValue::from_str(&crate::json::encode(&reply))),
        }
    });
    let reply = storage.transaction_sync(callback.as_ref()).map_err(|e| js_text(&e))?;
    ready.set(true);
    reply.as_string().ok_or_else(|| "the transaction returned no reply".into())
}

/// [`GrantTable`] on the object's SQL storage. The first failure is kept
/// (the trait has no error channel); every operation after it does nothing,
/// and the command is then rolled back.
struct SqlTable {
    sql: Sql,
    error: RefCell<Option<String>>,
}

impl SqlTable {
    /// Runs one statement; its rows, unless it (or one before) failed.
    fn run(&self, query: &str, bindings: &[JsValue]) -> Option<js_sys::Array> {
        if self.error.borrow().is_some() {
            return None;
        }
        let bindings = bindings.iter().collect::<js_sys::Array>();
        match self.sql.exec(query, bindings).and_then(|cursor| cursor.to_array()) {
            Ok(rows) => Some(rows),
            Err(e) => {
                self.fail(format!("SQL: {}", js_text(&e)));
                None
            }
        }
    }

    /// Keeps the first failure.
    fn fail(&self, why: String) {
        self.error.borrow_mut().get_or_insert(why);
    }

    /// The records in the rows of `query`; a row that does not parse is a
    /// failure (never skipped: a record that seemed absent would be
    /// overwritten or refused as unknown).
    fn records(&self, query: &str, bindings: &[JsValue]) -> Vec<GrantRecord> {
        let Some(rows) = self.run(query, bindings) else { return Vec::new() };
        let mut records = Vec::with_capacity(rows.length() as usize);
        for row in rows.iter() {
            let text = js_sys::Reflect::get(&row, &"record".into()).ok().and_then(|v| v.as_string());
            match text.map(|t| crate::json::from_slice::<GrantRecord>(t.as_bytes())) {
                Some(Ok(record)) => records.push(record),
                Some(Err(e)) => {
                    self.fail(format!("a stored record does not parse: {e}"));
                    return Vec::new();
                }
                None => {
                    self.fail("a row without its record".into());
                    return Vec::new();
                }
            }
        }
        records
    }
}

impl GrantTable for SqlTable {
    fn get(&self, id: &str) -> Option<GrantRecord> {
        self.records("SELECT record FROM grants WHERE id = ?", &[id.into()]).pop()
    }

    fn put(&mut self, record: &GrantRecord) {
        let json = crate::json::encode(record);
        let created = JsValue::from_f64(record.created as f64);
        self.run(
            "INSERT OR REPLACE INTO grants (id, created, record) VALUES (?, ?, ?)",
            &[record.id.as_str().into(), created, json.into()],
        );
    }

    fn remove(&mut self, id: &str) {
        self.run("DELETE FROM grants WHERE id = ?", &[id.into()]);
    }

    fn all(&self) -> Vec<GrantRecord> {
        self.records("SELECT record FROM grants ORDER BY created DESC, id", &[])
    }

    fn doc(&self, key: &str) -> Option<String> {
        let rows = self.run("SELECT doc FROM docs WHERE key = ?", &[key.into()])?;
        let row = rows.iter().next()?;
        js_sys::Reflect::get(&row, &"doc".into()).ok().and_then(|v| v.as_string())
    }

    fn put_doc(&mut self, key: &str, json: &str) {
        self.run("INSERT OR REPLACE INTO docs (key, doc) VALUES (?, ?)", &[key.into(), json.into()]);
    }

    fn remove_doc(&mut self, key: &str) {
        self.run("DELETE FROM docs WHERE key = ?", &[key.into()]);
    }

    fn doc_keys(&self, from: &str, below: &str, limit: usize) -> Vec<String> {
        // A range of the primary key: read from the table's own order.
        let query = "SELECT key FROM docs WHERE key >= ? AND key < ? ORDER BY key LIMIT ?";
        let Some(rows) = self.run(query, &[from.into(), below.into(), JsValue::from_f64(limit as f64)]) else {
            return Vec::new();
        };
        rows.iter().filter_map(|row| js_sys::Reflect::get(&row, &"key".into()).ok()?.as_string()).collect()
    }
}
