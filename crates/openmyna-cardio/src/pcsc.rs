//! The PC/SC transport: any reader pcscd knows (a real reader with a real card, or vpcd's
//! virtual reader with `openmyna vpcd`).

use std::ffi::CString;

use pcsc::{Context, Protocols, Scope, ShareMode};

use crate::{CardIoError, Transport};

pub struct PcscTransport {
    card: pcsc::Card,
    reader: String,
}

fn err(e: pcsc::Error) -> CardIoError {
    CardIoError::Reader(e.to_string())
}

/// The names of the readers pcscd offers.
pub fn readers() -> Result<Vec<String>, CardIoError> {
    let ctx = Context::establish(Scope::User).map_err(err)?;
    let names = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(err(e)),
    };
    Ok(names
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect())
}

impl PcscTransport {
    /// Connects to the first reader whose name contains `filter` (any reader if `None`) and
    /// holds a card.
    pub fn connect(filter: Option<&str>) -> Result<PcscTransport, CardIoError> {
        let ctx = Context::establish(Scope::User).map_err(err)?;
        let names = readers()?;
        let mut last = None;
        for name in names
            .iter()
            .filter(|n| filter.is_none_or(|f| n.contains(f)))
        {
            let c = CString::new(name.as_str())
                .map_err(|_| CardIoError::Reader("reader name with NUL".into()))?;
            match ctx.connect(&c, ShareMode::Shared, Protocols::ANY) {
                Ok(card) => {
                    return Ok(PcscTransport {
                        card,
                        reader: name.clone(),
                    });
                }
                Err(e) => last = Some(format!("{name}: {e}")),
            }
        }
        Err(CardIoError::Reader(match last {
            Some(l) => format!("no card in any matching reader ({l})"),
            None => format!("no reader matches (readers: {names:?})"),
        }))
    }

    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Transport for PcscTransport {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardIoError> {
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let r = self.card.transmit(apdu, &mut buf).map_err(err)?;
        Ok(r.to_vec())
    }

    fn describe(&self) -> String {
        format!("PC/SC reader {}", self.reader)
    }
}
