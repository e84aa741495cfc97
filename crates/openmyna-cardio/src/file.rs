//! The card file: the virtual chip's memory. Writes are atomic and durable (write a temporary
//! file, fsync, rename over the card file, fsync the directory), so a crash leaves either the
//! old or the new state, and an answered PIN failure is never lost. An exclusive lock on
//! `<card>.lock` serialises processes holding the same card (the vpcd connector and the CLI).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

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

    /// Writes a new card file; never replaces an existing one (the new file is linked into
    /// place, which fails if the name exists).
    pub fn create(path: impl Into<PathBuf>, state: &CardState) -> Result<CardFile, CardIoError> {
        let path = path.into();
        let f = CardFile { path };
        let tmp = f.write_temp(state)?;
        let linked = fs::hard_link(&tmp, &f.path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(CardIoError::Invalid(format!(
                    "{} exists; a card is never overwritten",
                    f.path.display()
                )));
            }
            Err(e) => return Err(io(&f.path)(e)),
        }
        f.sync_dir()?;
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn load(&self) -> Result<CardState, CardIoError> {
        let bytes = fs::read(&self.path).map_err(io(&self.path))?;
        Ok(CardState::from_bytes(&bytes)?)
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn sync_dir(&self) -> Result<(), CardIoError> {
        let dir = self.dir();
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&dir))
    }

    /// Writes the state to a new temporary file beside the card (created exclusively, mode
    /// 0600, fsynced); removed again if anything fails.
    fn write_temp(&self, state: &CardState) -> Result<PathBuf, CardIoError> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let bytes = state.to_bytes()?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "card".into());
        // Only to make the temporary file's name unique, not a reading of the time.
        #[allow(clippy::disallowed_methods)]
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tmp = self.dir().join(format!(
            ".{name}.tmp.{}.{nanos}.{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut opts = OpenOptions::new();
        // create_new: never follows or reuses a file someone else put there.
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io(&tmp))?;
        let written = f.write_all(&bytes).and_then(|()| f.sync_all());
        drop(f);
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io(&tmp)(e));
        }
        Ok(tmp)
    }

    /// Replaces the card file atomically and durably.
    pub fn save(&self, state: &CardState) -> Result<(), CardIoError> {
        let tmp = self.write_temp(state)?;
        if let Err(e) = fs::rename(&tmp, &self.path) {
            let _ = fs::remove_file(&tmp);
            return Err(io(&self.path)(e));
        }
        self.sync_dir()
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
