//! A TCP listener whose connections a handler can abort, so the `reset` fault
//! produces a real transport error (a TCP RST, no HTTP response at all) rather than
//! a broken response body.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// Wraps a [`TcpListener`], handing out [`AbortableStream`]s.
#[derive(Debug)]
pub(crate) struct AbortableListener {
    inner: TcpListener,
}

impl AbortableListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl Listener for AbortableListener {
    type Io = AbortableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Best effort: small request/response exchanges, no Nagle delay.
                    let _ = stream.set_nodelay(true);
                    let stream = AbortableStream {
                        inner: stream,
                        handle: ConnHandle::default(),
                    };
                    return (stream, addr);
                }
                // Per-connection errors (peer gone) and resource exhaustion alike:
                // back off briefly and keep serving, as axum's own listener does.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Lets a request handler abort the connection it arrived on. Reaches handlers as
/// `ConnectInfo<ConnHandle>`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnHandle {
    aborted: Arc<AtomicBool>,
}

impl ConnHandle {
    /// From now on every read or write on the connection fails, so hyper drops it;
    /// with `SO_LINGER` 0 the close is a TCP RST.
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::SeqCst);
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }
}

impl Connected<IncomingStream<'_, AbortableListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, AbortableListener>) -> Self {
        stream.io().handle.clone()
    }
}

/// A [`TcpStream`] that starts failing once its [`ConnHandle`] is aborted.
#[derive(Debug)]
pub(crate) struct AbortableStream {
    inner: TcpStream,
    handle: ConnHandle,
}

impl AbortableStream {
    /// If aborted: arrange for an RST on close and return the error to report.
    fn check(&self) -> io::Result<()> {
        if !self.handle.is_aborted() {
            return Ok(());
        }
        // A zero linger never blocks (the reason tokio deprecates `set_linger`):
        // the kernel discards unsent data and sends RST on close.
        #[allow(deprecated)]
        let _ = self.inner.set_linger(Some(Duration::ZERO));
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "connection reset by injected fault",
        ))
    }
}

impl AsyncRead for AbortableStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for AbortableStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
