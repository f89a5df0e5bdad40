//! A minimal HTTP `CONNECT` proxy on `127.0.0.1` for proxy tests. It only
//! tunnels to loopback addresses and records every target it was asked for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::error::Result;

const MAX_HEAD: usize = 8 * 1024;

/// A local `CONNECT` proxy. Stops when dropped.
#[derive(Debug)]
pub struct ConnectProxy {
    addr: SocketAddr,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl ConnectProxy {
    /// Starts the proxy on a free port.
    ///
    /// # Errors
    /// [`crate::TestkitError::Io`] when no port can be bound.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let targets = Arc::new(Mutex::new(Vec::new()));
        let seen = targets.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let _ = tunnel(client, seen).await;
                });
            }
        });
        Ok(Self {
            addr,
            targets,
            task,
        })
    }

    /// The proxy host (`127.0.0.1`).
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The proxy port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every `host:port` a client asked to `CONNECT` to, in order.
    pub fn connect_targets(&self) -> Vec<String> {
        self.targets.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tunnel(mut client: TcpStream, seen: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = client.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut words = text.split_whitespace();
    let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let target = target.to_owned();
    if let Ok(mut list) = seen.lock() {
        list.push(target.clone());
    }
    // Only ever tunnel to this machine.
    let loopback = tokio::net::lookup_host(&target)
        .await
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.ip().is_loopback()));
    let Some(dest) = loopback else {
        client
            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let Ok(mut upstream) = TcpStream::connect(dest).await else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    // Anything the client sent after the head belongs to the tunnel.
    if let Some(pos) = head.windows(4).position(|w| w == b"\r\n\r\n") {
        let rest = &head[pos + 4..];
        if !rest.is_empty() {
            upstream.write_all(rest).await?;
        }
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}
