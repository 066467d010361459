//! `display_as_debug!`: the `Display` of exported records is their `Debug`.
//!
//! uniffi turns an exported `Debug` into Python's `repr()` and an exported
//! `Display` into Python's `str()`, Kotlin's `toString()` and Swift's
//! `description`. For plain records (events, the policy, logout outcomes)
//! both should show every field, secrets redacted; this macro writes the
//! one-line `Display` impl that forwards to `Debug`, so each record states
//! once, in its `Debug`, what may be shown.

/// Implements `Display` for each type by forwarding to its `Debug`.
macro_rules! display_as_debug {
    ($($ty:ty),+ $(,)?) => {
        $(impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Debug::fmt(self, f)
            }
        })+
    };
}
