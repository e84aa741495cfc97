//! Attaches a card file to pcscd's virtual reader driver (vsmartcard-vpcd), so that every
//! PC/SC application sees a reader with a My Number Card in it.
//!
//! The driver inside pcscd listens on TCP 35963 (slot 0); the card connects to it. Framing
//! both ways: a 2-byte big-endian length, then the payload. A 1-byte payload is a control
//! message: 00 power off, 01 power on, 02 reset (no reply), 04 get ATR (reply: the ATR). Any
//! other payload is a command APDU, answered by one response APDU. The card is "present"
//! while connected; when pcscd restarts, the connection drops and we reconnect.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use openmyna_card::ATR;
use socket2::SockRef;

use crate::{CardFile, CardIoError, Transport, VirtualTransport};

/// pcscd's vpcd slot 0.
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

/// How the connector ended one connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Disconnect {
    /// pcscd closed the connection (stopped or restarted).
    Closed,
    /// Asked to stop.
    Stopped,
}

/// Serves one connection to pcscd until it closes. `stop` is checked between messages.
pub fn serve_connection(
    stream: &mut TcpStream,
    card: &mut VirtualTransport,
    stop: &AtomicBool,
) -> Result<Disconnect, CardIoError> {
    let io = |source| CardIoError::Reader(format!("vpcd connection: {source}"));
    stream.set_nodelay(true).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(io)?;
    card.reset();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Disconnect::Stopped);
        }
        // Without quick ACKs, pcscd's two writes per message cost a delayed-ACK wait (~40 ms)
        // on every command; the flag resets itself, so it is set before every read.
        let _ = SockRef::from(&*stream).set_tcp_quickack(true);
        let mut len = [0u8; 2];
        match read_full(stream, &mut len, stop) {
            Ok(true) => {}
            Ok(false) => return Ok(Disconnect::Closed),
            Err(e) => return Err(io(e)),
        }
        let n = usize::from(u16::from_be_bytes(len));
        let mut msg = vec![0u8; n];
        match read_full(stream, &mut msg, stop) {
            Ok(true) => {}
            Ok(false) => return Ok(Disconnect::Closed),
            Err(e) => return Err(io(e)),
        }
        let reply = match msg.as_slice() {
            [0x00] | [0x01] | [0x02] => {
                card.reset();
                None
            }
            [0x04] => Some(ATR.to_vec()),
            [other] => {
                tracing::warn!(control = other, "unknown vpcd control message");
                None
            }
            apdu => {
                let r = card.transmit(apdu)?;
                tracing::debug!(
                    ins = format!("{:02X}", apdu.get(1).copied().unwrap_or(0)),
                    sw = format!(
                        "{:02X?}",
                        r.get(r.len().saturating_sub(2)..).unwrap_or_default()
                    ),
                    "apdu"
                );
                Some(r)
            }
        };
        if let Some(r) = reply {
            let mut frame = Vec::with_capacity(r.len() + 2);
            frame.extend_from_slice(&(r.len() as u16).to_be_bytes());
            frame.extend_from_slice(&r);
            stream.write_all(&frame).map_err(io)?;
        }
    }
}

/// Reads exactly `buf.len()` bytes, waiting across read timeouts (to notice `stop`).
/// `Ok(false)` when the peer closed before the first byte.
fn read_full(s: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> std::io::Result<bool> {
    let mut got = 0;
    while let Some(rest) = buf.get_mut(got..).filter(|rest| !rest.is_empty()) {
        match s.read(rest) {
            Ok(0) => {
                return if got == 0 {
                    Ok(false)
                } else {
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                };
            }
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Relaxed) {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Keeps the card attached to pcscd at `addr`: connects, serves, and reconnects (every
/// `retry`) whenever pcscd is not there or restarts, until `stop`.
pub fn run(
    card: CardFile,
    addr: SocketAddr,
    retry: Duration,
    stop: &AtomicBool,
) -> Result<(), CardIoError> {
    // Fail early on a card file that cannot be read.
    card.load()?;
    let mut transport = VirtualTransport::new(card);
    let mut announced = false;
    while !stop.load(Ordering::Relaxed) {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(mut stream) => {
                tracing::info!(%addr, "card inserted into the vpcd reader");
                announced = false;
                match serve_connection(&mut stream, &mut transport, stop) {
                    Ok(Disconnect::Stopped) => break,
                    Ok(Disconnect::Closed) => {
                        tracing::info!("pcscd closed the connection; reconnecting")
                    }
                    Err(CardIoError::Reader(e)) => tracing::warn!(error = %e, "reconnecting"),
                    Err(e) => return Err(e),
                }
            }
            Err(e) => {
                if !announced {
                    tracing::info!(%addr, error = %e, "waiting for pcscd's vpcd driver");
                    announced = true;
                }
            }
        }
        std::thread::sleep(retry);
    }
    Ok(())
}
