//! One way to send: every request is a value that does nothing until it is sent, with
//! `.send().await` or just `.await`. Builders with options have their own types (`GetItem`,
//! `CreateTable`, `TransactWrite`, ...); a request with nothing left to choose is a
//! [`Pending`]. Reads of many items are streams instead (`items()`, `pages()`), or `all()`.

use crate::error::Result;
use futures::future::BoxFuture;
use std::future::{Future, IntoFuture};

/// A request with no options left to set: `.send().await` or `.await`.
///
/// Nothing is sent until it is awaited, so a `Pending` that is dropped sends nothing.
#[must_use = "a request does nothing until it is sent"]
pub struct Pending<'c, T> {
    future: BoxFuture<'c, Result<T>>,
}

impl<'c, T> Pending<'c, T> {
    pub(crate) fn new(future: impl Future<Output = Result<T>> + Send + 'c) -> Self {
        Pending {
            future: Box::pin(future),
        }
    }

    /// Sends the request.
    pub fn send(self) -> BoxFuture<'c, Result<T>> {
        self.future
    }
}

impl<'c, T> IntoFuture for Pending<'c, T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'c, Result<T>>;
    fn into_future(self) -> Self::IntoFuture {
        self.future
    }
}

impl<T> std::fmt::Debug for Pending<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

/// Makes a builder whose `async fn send(self)` sends it awaitable as it is:
/// `awaitable!([<'c, M: Model>] GetItem<'c, M> => Option<M>, 'c);`
macro_rules! awaitable {
    ([$($generics:tt)*] $ty:ty => $out:ty, $lt:lifetime $(, where $($bounds:tt)+)?) => {
        impl $($generics)* ::std::future::IntoFuture for $ty $(where $($bounds)+)? {
            type Output = $crate::error::Result<$out>;
            type IntoFuture = ::futures::future::BoxFuture<$lt, Self::Output>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}
pub(crate) use awaitable;
