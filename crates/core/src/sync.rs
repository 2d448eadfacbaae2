//! One rule for the few mutexes sockscope shares between threads (an actor's
//! in-flight slot, a socket's known addresses, the wire's packet list, the
//! serve loop's output): a panic in another thread while it held the lock
//! does not stop the lesson.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Lock `m`, taking the guard even if a thread panicked while it held it.
/// Every value behind these locks is written in one assignment or one push,
/// so a panic cannot leave it half-written in a way a reader would see; the
/// panic itself is reported where it happened.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
