//! The card file: the virtual chip's memory. Writes are atomic and durable (write a temporary
//! file, fsync, rename over the card file, fsync the directory), so a crash leaves either the
//! old or the new state, and an answered PIN failure is never lost. An exclusive lock on
//! `<card>.lock` serialises processes holding the same card (the vpcd connector and the CLI).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use openmyna_card::{CardState, Outcome};

use crate::CardIoError;

#[derive(Debug, Clone)]
pub struct CardFile {
    path: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CardIoError + '_ {
    move |source| CardIoError::File {
        path: path.display().to_string(),
        source,
    }
}

impl CardFile {
    /// A card file that exists.
    pub fn open(path: impl Into<PathBuf>) -> Result<CardFile, CardIoError> {
        let path = path.into();
        fs::metadata(&path).map_err(io(&path))?;
        Ok(CardFile { path })
    }

    /// Writes a new card file; refuses to overwrite an existing card.
    pub fn create(path: impl Into<PathBuf>, state: &CardState) -> Result<CardFile, CardIoError> {
        let path = path.into();
        if path.exists() {
            return Err(CardIoError::Invalid(format!(
                "{} exists; a card is never overwritten",
                path.display()
            )));
        }
        let f = CardFile { path };
        f.save(state)?;
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<CardState, CardIoError> {
        let bytes = fs::read(&self.path).map_err(io(&self.path))?;
        Ok(CardState::from_bytes(&bytes)?)
    }

    /// Replaces the card file atomically and durably.
    pub fn save(&self, state: &CardState) -> Result<(), CardIoError> {
        let bytes = state.to_bytes()?;
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "card".into());
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let mut opts = OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        f.write_all(&bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        fs::rename(&tmp, &self.path).map_err(io(&self.path))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))?;
        Ok(())
    }

    fn lock(&self) -> Result<File, CardIoError> {
        let mut p = self.path.clone().into_os_string();
        p.push(".lock");
        let lock_path = PathBuf::from(p);
        let f = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        f.lock().map_err(io(&lock_path))?;
        Ok(f)
    }

    /// Runs `f` on the current state under the lock, and writes the state back if `f`
    /// changed it, before returning.
    pub fn transaction<F>(&self, f: F) -> Result<Outcome, CardIoError>
    where
        F: FnOnce(&mut CardState) -> Outcome,
    {
        let _lock = self.lock()?;
        let mut state = self.load()?;
        let outcome = f(&mut state);
        if outcome.state_changed {
            self.save(&state)?;
        }
        Ok(outcome)
    }

    /// Runs an administrative change (e.g. the municipality's PIN reset) under the lock.
    pub fn update<R>(
        &self,
        f: impl FnOnce(&mut CardState) -> Result<R, CardIoError>,
    ) -> Result<R, CardIoError> {
        let _lock = self.lock()?;
        let mut state = self.load()?;
        let r = f(&mut state)?;
        self.save(&state)?;
        Ok(r)
    }
}
