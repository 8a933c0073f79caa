//! The one-shot subcommands: `dnsd check-zone` and `dnsd ds`.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::{ZoneSource, origin_from_arg};
use crate::dnssec::{DigestType, KeyStore, ZoneKeys};
use crate::zones::load_zone;

/// `dnsd check-zone ORIGIN FILE`: loads the zone as `--zone` would and says
/// whether it is servable (exit 0) or why not (exit 1, errors on stderr).
pub fn check_zone(origin: &str, file: PathBuf) -> anyhow::Result<ExitCode> {
    let origin = origin_from_arg(origin).map_err(anyhow::Error::msg)?;
    // Every LUA record that cannot answer is an error here, as with
    // --lua-strict: the point of check-zone is to find them.
    crate::dynamic::LuaSettings {
        strict: true,
        ..Default::default()
    }
    .apply();
    let source = ZoneSource {
        origin,
        file,
        dnssec: false,
        allow_transfer: Vec::new(),
        catalog: false,
    };
    match load_zone(&source) {
        Ok(zone) => {
            // A reader that went away (`| head`) just ends the output.
            logsink::print_stdout(format_args!(
                "{}: zone {} OK: serial {}, {} records",
                source.file.display(),
                source.origin,
                zone.serial,
                zone.record_count
            ))?;
            // The process ends now: freeing a large zone node by node
            // would take a fifth of the check's time for nothing.
            std::mem::forget(zone);
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            for line in err.to_string().lines() {
                logsink::print_stderr(format_args!("{line}"));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `dnsd ds ORIGIN`: the DS lines (digest type 2) of a signed zone's
/// key-signing keys. Reads the keys; never creates any.
pub fn print_ds(origin: &str, data_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let origin = origin_from_arg(origin).map_err(anyhow::Error::msg)?;
    let store = KeyStore::new(data_dir.unwrap_or_else(|| "data".into()));
    let keys = store.load(&origin)?;
    if keys.is_empty() {
        anyhow::bail!(
            "zone {origin} has no keys in {} (start dnsd with --dnssec {origin} to create them)",
            store.zone_dir(&origin).display()
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let keys = ZoneKeys::new(
        &origin,
        keys.iter()
            .map(|stored| (stored.key.clone(), stored.timing.state_at(now)))
            .collect(),
    );
    for line in keys.ds_lines(DigestType::Sha256) {
        if !logsink::print_stdout(format_args!("{line}"))? {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}
