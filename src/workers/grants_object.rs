//! The `Grants` Durable Object class: one object per subject (the
//! [`super::DurableGrants`] client names it with `idFromName(subject)`),
//! with SQLite storage. Persistence only: every decision is
//! [`ledger::execute`]'s. Behind the `grants-object` feature.
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
//! `record` is the record's JSON (its serde form in [`ledger`]), so a field
//! added to [`GrantRecord`] with a serde default needs no migration; `created`
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
use std::rc::Rc;

use worker::wasm_bindgen::closure::Closure;
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsCast, JsValue};
use worker::worker_sys::web_sys;
use worker::{console_error, js_sys};

use super::grants::js_text;
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

/// The Durable Object class `Grants`: one object per subject
/// (`idFromName(subject)`). Its `fetch` takes a JSON [`GrantCommand`] and
/// answers the JSON [`GrantReply`](crate::grants::ledger::GrantReply)
/// (400 for a body that is not a command, 500 when storage fails; nothing
/// is changed then). Exported under the `grants-object` feature (a default
/// one); bind it in `wrangler.toml`:
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
#[wasm_bindgen]
pub struct Grants {
    storage: Storage,
    /// The table exists (created by a committed command of this instance).
    ready: Rc<Cell<bool>>,
}

#[wasm_bindgen]
impl Grants {
    /// Called by the runtime with the object's state and the Worker's env.
    #[wasm_bindgen(constructor)]
    pub fn new(state: JsValue, _env: JsValue) -> Grants {
        let storage = js_sys::Reflect::get(&state, &"storage".into()).unwrap_or(JsValue::UNDEFINED);
        Grants { storage: storage.unchecked_into(), ready: Rc::new(Cell::new(false)) }
    }

    /// Runs the command in the request's body. The body is read
    /// asynchronously; the command then runs in one synchronous call.
    pub fn fetch(&self, req: web_sys::Request) -> JsValue {
        let Ok(body) = req.text() else {
            return object_answer(bad_command("the body could not be read"));
        };
        let storage: Storage = self.storage.clone().unchecked_into();
        let ready = self.ready.clone();
        let on_body = Closure::once_into_js(move |body: JsValue| -> JsValue {
            object_answer(run_command(&storage, &ready, body.as_string()))
        });
        body.unchecked_ref::<super::adapter::Thenable>().then_either(&on_body, &on_body)
    }
}

fn object_answer(response: crate::Response) -> JsValue {
    super::settled(super::to_raw(response))
}

fn bad_command(why: &str) -> crate::Response {
    crate::protocol::error::json_error(400, "bad_command", why)
}

/// The answer to one request's body (`None`: unreadable).
fn run_command(storage: &Storage, ready: &Cell<bool>, body: Option<String>) -> crate::Response {
    let Some(body) = body else {
        return bad_command("the body could not be read");
    };
    let command = match decode_command(&body) {
        Ok(c) => c,
        Err(e) => return bad_command(&format!("not a grant command: {e}")),
    };
    match transact(storage, ready, command) {
        Ok(reply) => crate::Response::empty(200).with_header("content-type", "application/json").with_body(reply),
        Err(e) => {
            console_error!("grant object: {}", e);
            crate::protocol::error::json_error(500, "storage_error", &e)
        }
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
            None => serde_json::to_string(&reply).map(|s| JsValue::from_str(&s)).map_err(|e| e.to_string().into()),
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
            match text.map(|t| serde_json::from_slice::<GrantRecord>(t.as_bytes())) {
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
        let json = match serde_json::to_string(record) {
            Ok(json) => json,
            Err(e) => return self.fail(format!("a record does not serialize: {e}")),
        };
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
}
