//! The errors of one expansion, gathered so that an input with several mistakes reports them
//! all in one compile.

use std::cell::RefCell;
use std::fmt::Display;

use quote::ToTokens;

/// Collects every error found while reading and checking one input. Parsing and checking push
/// into it; only an input that leaves it empty is expanded.
#[derive(Default)]
pub(crate) struct Errors {
    // A `RefCell` so that the closures of `parse_nested_meta`, which also borrow the values
    // being parsed, can report through a shared reference.
    found: RefCell<Option<syn::Error>>,
    count: std::cell::Cell<usize>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records an error and keeps going.
    pub(crate) fn push(&self, error: syn::Error) {
        self.count.set(self.count.get() + 1);
        let mut found = self.found.borrow_mut();
        match found.as_mut() {
            Some(all) => all.combine(error),
            None => *found = Some(error),
        }
    }

    /// Records an error at the span of `tokens`.
    pub(crate) fn at(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records the error of a failed parse, giving back its value when there is one.
    pub(crate) fn ok<T>(&self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// How many errors were recorded so far.
    pub(crate) fn len(&self) -> usize {
        self.count.get()
    }

    /// All the errors as one, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.found.into_inner() {
            Some(all) => Err(all),
            None => Ok(()),
        }
    }
}
