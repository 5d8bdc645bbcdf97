//! `triage user create`: web UI accounts. The password is read from stdin (one line), so
//! it never appears in the process list or shell history:
//! `printf '%s\n' "$PASSWORD" | triage user create --email … --name … --role pm`.

use std::io::BufRead;

use crate::db;
use crate::db::tokens::Role;
use crate::digest::subscriptions;
use crate::{Config, Error, Result};

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// support, pm or admin.
        #[arg(long)]
        role: String,
    },
    /// Delete a user: they can no longer sign in, and history shows "former user".
    Delete {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(config: &Config, cmd: &UserCommand) -> Result<()> {
    let (email, name, role) = match cmd {
        UserCommand::Create { email, name, role } => (email, name, role),
        UserCommand::Delete { email } => {
            let db = db::connect(config).await?;
            let u = db::users::delete(&db, email).await?;
            println!("deleted user {} (id {})", u.email, u.id);
            return Ok(());
        }
    };
    let role = Role::parse(role)?;
    eprintln!("password for {email} (one line on stdin):");
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| Error::io("stdin", e))?;
    let password = password.trim_end_matches(['\r', '\n']);
    let db = db::connect(config).await?;
    let user = subscriptions::create_user(&db, email, name, role, password).await?;
    println!(
        "created user {} ({}, role {}, id {})",
        user.email,
        user.name,
        role.as_str(),
        user.id
    );
    Ok(())
}
