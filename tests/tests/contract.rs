//! The API against its own OpenAPI document: schemathesis (installed by scripts/setup.sh)
//! generates requests from `/api/openapi.json` — valid ones, invalid ones, and sequences
//! that follow the document's links — and runs every check it has (`--checks all`): answers
//! match their documented schema, status and content type, schema-valid requests are
//! accepted, schema-violating ones rejected, auth is enforced, unsupported methods get 405.
//! On SQLite and PostgreSQL, with a fixed seed so a failure reproduces. Rejections the
//! document cannot express are 422s, allowed per operation in tests/contract/schemathesis.toml.
//!
//! `DELETE /api/v1/tokens/{id}` is left out: fuzzing it revokes the admin token the run
//! itself uses (ids are small integers), after which every answer is a correct 401. Its
//! behaviour is covered by `intake::tokens_roles_and_hashing` and the role matrix.

use std::process::Command;

use triage_e2e::{on_both, Env};

on_both!(the_api_keeps_its_documented_contract);

fn the_api_keeps_its_documented_contract(env: &Env) {
    let st = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.deps/py/bin/schemathesis");
    assert!(
        st.exists(),
        "{} is missing: run scripts/setup.sh (it installs schemathesis)",
        st.display()
    );
    let token = env.token("admin");
    let s = env.serve();
    let config =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contract/schemathesis.toml");
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", s.url)])
        .args(["--checks", "all", "--exclude-method", "DELETE"])
        .args(["--max-examples", "40", "--seed", "20261202", "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .output()
        .expect("running schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found contract failures:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really ran the operations (not, say, an empty document).
    assert!(report.contains("Tested:"), "{report}");
}
