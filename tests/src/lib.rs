//! Harness for the end-to-end tests: the real `triage` binary, a temporary data directory,
//! and either a SQLite file or a fresh database on the PostgreSQL server of this machine.
//!
//! Every scenario runs on both backends (see the `on_both!` macro). The PostgreSQL half
//! skips itself, saying so, only when no server answers at `TRIAGE_TEST_PG`
//! (default `postgres://postgres@127.0.0.1:5432/postgres`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario `fn(&Env)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(&$crate::Env::new($crate::Backend::Sqlite).expect("sqlite env")) } )*
        }
        mod postgres {
            $( #[test] fn $name() {
                match $crate::Env::new($crate::Backend::Postgres) {
                    Some(env) => super::$name(&env),
                    None => eprintln!("SKIPPED: no PostgreSQL server answers at {}", $crate::pg_admin_url()),
                }
            } )*
        }
    };
}

pub fn pg_admin_url() -> String {
    std::env::var("TRIAGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A test environment: a data directory and a database, removed when dropped.
pub struct Env {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
    pg_db: Option<String>,
    /// Variables every later command (and server) of this environment gets.
    vars: std::cell::RefCell<Vec<(String, String)>>,
}

impl Env {
    /// `None` only for PostgreSQL when no server answers.
    pub fn new(backend: Backend) -> Option<Env> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database_url, pg_db) = match backend {
            Backend::Sqlite => (None, None),
            Backend::Postgres => {
                let name = format!("triage_e2e_{}", rand::random::<u32>());
                pg_exec(&format!("CREATE DATABASE {name}"))?;
                let admin = pg_admin_url();
                let base = admin
                    .rsplit_once('/')
                    .map_or(admin.as_str(), |(b, _)| b)
                    .to_string();
                (Some(format!("{base}/{name}")), Some(name))
            }
        };
        Some(Env {
            backend,
            dir,
            database_url,
            pg_db,
            vars: Default::default(),
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A `triage` command set up for this environment.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(binary());
        c.env("TRIAGE_DATA_DIR", self.data_dir())
            .env_remove("DATABASE_URL")
            .env("TRIAGE_LOG", "warn,triage=info");
        if let Some(url) = &self.database_url {
            c.env("DATABASE_URL", url);
        }
        for (k, v) in self.vars.borrow().iter() {
            c.env(k, v);
        }
        c
    }

    /// Sets a variable for every later command and server of this environment.
    pub fn set_var(&self, key: &str, value: &str) {
        let mut vars = self.vars.borrow_mut();
        vars.retain(|(k, _)| k != key);
        vars.push((key.to_string(), value.to_string()));
    }

    /// Runs `triage ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("running triage")
    }

    /// Runs `triage ARGS` and returns stdout, failing the test if it exits non-zero.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "triage {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Creates an API token with `role` and returns it.
    pub fn token(&self, role: &str) -> String {
        let out = self.run_ok(&[
            "token",
            "create",
            "--role",
            role,
            "--name",
            &format!("test {role}"),
        ]);
        out.lines().last().expect("token line").trim().to_string()
    }

    /// Creates a web user (`triage user create`, the password on stdin).
    pub fn create_user(&self, email: &str, name: &str, role: &str, password: &str) {
        let mut child = self
            .cmd()
            .args([
                "user", "create", "--email", email, "--name", name, "--role", role,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("triage user create");
        let line = format!("{password}\n");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), line.as_bytes())
            .expect("password");
        assert!(child.wait().expect("user create").success());
    }

    /// Starts `triage serve` on a free port (or on `TRIAGE_BIND` when set by `set_var`).
    pub fn serve(&self) -> Server {
        self.serve_to(Stdio::inherit())
    }

    /// [`Env::serve`] with the server's log (stderr) appended to `log`, for tests that
    /// read what it wrote.
    pub fn serve_logged(&self, log: &Path) -> Server {
        self.serve_to(Stdio::from(log_file(log)))
    }

    fn serve_to(&self, stderr: Stdio) -> Server {
        let bind = self
            .vars
            .borrow()
            .iter()
            .find(|(k, _)| k == "TRIAGE_BIND")
            .map_or("127.0.0.1:0".to_string(), |(_, v)| v.clone());
        let mut c = self.cmd();
        c.arg("serve").env("TRIAGE_BIND", bind);
        Self::start_server(c, stderr)
    }

    /// A replica: `triage serve ARGS` with a data dir (and so a search index) of its own,
    /// on a free port, its log appended to `log`.
    pub fn serve_replica(&self, data_dir: &Path, args: &[&str], log: &Path) -> Server {
        let mut c = self.cmd();
        c.arg("serve")
            .args(args)
            .env("TRIAGE_DATA_DIR", data_dir)
            .env("TRIAGE_BIND", "127.0.0.1:0");
        Self::start_server(c, Stdio::from(log_file(log)))
    }

    /// `triage worker` with a data dir of its own, its log appended to `log`; killed when
    /// the returned child is.
    pub fn worker(&self, data_dir: &Path, log: &Path) -> Child {
        self.cmd()
            .arg("worker")
            .env("TRIAGE_DATA_DIR", data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file(log)))
            .spawn()
            .expect("starting triage worker")
    }

    fn start_server(mut c: Command, stderr: Stdio) -> Server {
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("starting triage serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("reading the listen line");
        // Keep draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = line
            .trim()
            .rsplit_once(' ')
            .map(|(_, u)| u.to_string())
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"));
        let server = Server {
            child,
            url,
            client: reqwest::blocking::Client::new(),
        };
        server.wait_healthy();
        server
    }
}

impl Env {
    /// PostgreSQL only: ends every connection to this environment's database
    /// (`pg_terminate_backend`), as a database restart or a failover would; returns how
    /// many there were. Other databases on the server are not touched.
    pub fn pg_terminate_connections(&self) -> usize {
        let name = self.pg_db.as_ref().expect("a PostgreSQL environment");
        self.pg_query(&format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ))
        .parse()
        .expect("a count")
    }

    /// PostgreSQL only: runs one query on this environment's database with `psql` and
    /// returns its unaligned output (rows on lines, columns split by `|`).
    pub fn pg_query(&self, sql: &str) -> String {
        let url = self
            .database_url
            .as_ref()
            .expect("a PostgreSQL environment");
        let out = Command::new("psql")
            .args([url, "-tAc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_db {
            let _ = pg_exec(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn log_file(log: &Path) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("opening the log")
}

/// Runs one statement on the PostgreSQL admin database; `None` when no server answers.
fn pg_exec(sql: &str) -> Option<()> {
    use sea_orm::ConnectionTrait;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let mut opts = sea_orm::ConnectOptions::new(pg_admin_url());
        opts.connect_timeout(Duration::from_secs(3))
            .sqlx_logging(false);
        let db = sea_orm::Database::connect(opts).await.ok()?;
        db.execute_unprepared(sql)
            .await
            .map_err(|e| panic!("{sql}: {e}"))
            .ok()?;
        db.close().await.ok()
    })
}

/// The `triage` binary built by this workspace (beside the test executable's directory).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let target_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = target_dir.join("triage");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (cargo build)",
        bin.display()
    );
    bin
}

/// A running `triage serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
    pub client: reqwest::blocking::Client,
}

/// A response: status and parsed JSON body (`Null` when the body is not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    /// The `field` of a JSON error body.
    pub fn error_field(&self) -> Option<&str> {
        self.body["error"]["field"].as_str()
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// A browser's view of the web UI: a signed-in session cookie, redirects not followed.
pub struct WebSession {
    pub client: reqwest::blocking::Client,
    pub base: String,
    /// `name=value` of the session cookie, as a browser would send it.
    pub cookie: String,
}

/// The `name=value` part of the `Set-Cookie` named `name` (any `__Host-` prefix included).
pub fn set_cookie(r: &reqwest::blocking::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden field {name}"))
        + marker.len();
    html[at..].split('"').next().unwrap_or_default().to_string()
}

impl WebSession {
    /// GET a page: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .expect("request");
        (r.status().as_u16(), r.text().unwrap_or_default())
    }

    /// POSTs a form as the page at `form_page` would (its CSRF token added).
    pub fn post_form(
        &self,
        form_page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::blocking::Response {
        let (_, page) = self.get(form_page);
        let csrf = hidden(&page, "csrf");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{action}", self.base))
            .header("cookie", &self.cookie)
            .form(&all)
            .send()
            .expect("request")
    }
}

impl Server {
    /// Signs in through the login form, as a browser would.
    pub fn sign_in(&self, email: &str, password: &str) -> WebSession {
        let client = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let page = client
            .get(format!("{}/login", self.url))
            .send()
            .expect("login page");
        let login_cookie = set_cookie(&page, "triage_login").expect("login cookie");
        let token = hidden(&page.text().unwrap_or_default(), "login_csrf");
        let signed_in = client
            .post(format!("{}/login", self.url))
            .header("cookie", &login_cookie)
            .form(&[
                ("login_csrf", token.as_str()),
                ("email", email),
                ("password", password),
            ])
            .send()
            .expect("sign in");
        assert_eq!(signed_in.status(), 303, "sign-in failed");
        WebSession {
            cookie: set_cookie(&signed_in, "triage_session").expect("session cookie"),
            client,
            base: self.url.clone(),
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.client
                .get(format!("{}{path}", self.url))
                .bearer_auth(token),
        )
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.post_raw(path, token, serde_json::to_vec(body).expect("json"))
    }

    pub fn patch(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send(
            self.client
                .patch(format!("{}{path}", self.url))
                .bearer_auth(token)
                .json(body),
        )
    }

    pub fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(
            self.client
                .delete(format!("{}{path}", self.url))
                .bearer_auth(token),
        )
    }

    /// A GET whose body is not JSON: status, content type and text.
    pub fn get_text(&self, path: &str, token: &str) -> (u16, String, String) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .expect("request");
        let status = r.status().as_u16();
        let kind = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, kind, r.text().unwrap_or_default())
    }

    pub fn post_raw(&self, path: &str, token: &str, body: Vec<u8>) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.url))
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body),
        )
    }

    pub fn send(&self, req: reqwest::blocking::RequestBuilder) -> Reply {
        let r = req.send().expect("request");
        let status = r.status().as_u16();
        let text = r.text().unwrap_or_default();
        Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
        }
    }

    /// Searches until `pred` holds on the results (the index is fed asynchronously). By
    /// words only unless `query` names a mode: it checks what the text index holds, and
    /// hits by meaning would arrive on the embedding worker's schedule instead.
    pub fn search_until(&self, query: &str, token: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        let query = if query.contains("mode=") {
            query.to_string()
        } else {
            format!("{query}&mode=keyword")
        };
        loop {
            let r = self.get(&format!("/api/v1/search?{query}"), token);
            assert_eq!(r.status, 200, "search {query}: {:?}", r.body);
            if pred(&r.body) {
                return r.body;
            }
            assert!(
                Instant::now() < deadline,
                "search {query} never satisfied the condition; last: {}",
                r.body
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the index has no pending jobs.
    pub fn wait_indexed(&self) {
        self.wait_for_queue("index", 30);
    }

    /// Waits until every stored item has been embedded (and so is searchable by meaning).
    pub fn wait_embedded(&self) {
        self.wait_for_queue("embeddings", 60);
    }

    /// Waits until `/healthz` reports no pending jobs in `queue`.
    fn wait_for_queue(&self, queue: &str, seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let h = self.send(self.client.get(format!("{}/healthz", self.url)));
            if h.status == 200 && h.body[queue]["pending_jobs"] == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{queue} never caught up: {:?}",
                h.body
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = self.client.get(format!("{}/healthz", self.url)).send() {
                if r.status().is_success() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("triage serve at {} never became healthy", self.url);
    }

    /// SIGKILL: no graceful shutdown, no final commit.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let status = self.child.wait().expect("reap");
        assert!(status.success(), "triage serve exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses the single JSON object a `--json` command prints.
pub fn json_line(stdout: &str) -> Value {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .expect("a JSON line on stdout");
    serde_json::from_str(line).expect("valid JSON")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A real SMTP server (aiosmtpd, tests/smtp/sink.py) on a loopback port, storing what it
/// receives; stopped when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl SmtpSink {
    pub fn start(port: u16, dir: &Path) -> SmtpSink {
        Self::start_with(port, dir, None)
    }

    /// A server started with an option of tests/smtp/sink.py: `user:password` (AUTH
    /// required) or `--starttls` (STARTTLS required; its CA is written to `dir/ca.pem`).
    pub fn start_with(port: u16, dir: &Path, option: Option<&str>) -> SmtpSink {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = root.join(".deps/py/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup.sh (it installs aiosmtpd)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/smtp/sink.py"))
            .arg(port.to_string())
            .arg(dir)
            .args(option)
            .stdout(Stdio::piped())
            .spawn()
            .expect("starting the SMTP sink");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reading from the SMTP sink");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        SmtpSink {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// `SMTP_URL` for this server (plain SMTP on loopback).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far (in this directory, whichever server got it), oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        received(&self.dir)
    }
}

/// The messages stored in `dir` by any sink, oldest first.
pub fn received(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .filter_map(|p| Some((p.file_stem()?.to_str()?.parse().ok()?, p)))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| std::fs::read(p).expect("reading a message"))
        .collect()
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
