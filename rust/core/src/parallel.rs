//! The named, sized rayon pool (STYLE 7).
//!
//! `threads=None` uses `FLOWGEX_THREADS` or all cores; `threads=1` is serial.
//! Pools are cached per size and tagged with the process id: a pool built
//! before a `fork()` has no threads in the child, so the child builds its own
//! instead of deadlocking on the parent's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{CoreError, Result};

type Pools = Mutex<HashMap<usize, (u32, Arc<rayon::ThreadPool>)>>;

fn pools() -> &'static Pools {
    static POOLS: OnceLock<Pools> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The thread count for a call: the argument, else `FLOWGEX_THREADS`, else all cores.
pub fn resolve_threads(threads: Option<usize>) -> Result<usize> {
    if let Some(n) = threads {
        return if n == 0 {
            Err(CoreError::InvalidOption {
                name: "threads".into(),
                expected: "a positive integer or None".into(),
                found: "0".into(),
            })
        } else {
            Ok(n)
        };
    }
    if let Ok(v) = std::env::var("FLOWGEX_THREADS") {
        return match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(CoreError::InvalidOption {
                name: "FLOWGEX_THREADS".into(),
                expected: "a positive integer".into(),
                found: format!("{v:?}"),
            }),
        };
    }
    Ok(std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1))
}

/// The pool with `n` threads named `flowgex-<i>`, built on first use in this process.
pub fn pool(n: usize) -> Result<Arc<rayon::ThreadPool>> {
    let pid = std::process::id();
    let mut map = pools().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, p)) = map.get(&n) {
        if *owner == pid {
            return Ok(p.clone());
        }
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("flowgex-{i}"))
        .build()
        .map_err(|e| CoreError::ThreadPool(e.to_string()))?;
    let p = Arc::new(p);
    if let Some((_, stale)) = map.insert(n, (pid, p.clone())) {
        // A pool inherited across fork() has no live threads here; dropping it
        // would try to join them, so it is leaked on purpose.
        std::mem::forget(stale);
    }
    Ok(p)
}

/// Runs `f` inside the pool for `threads` (see [`resolve_threads`]).
pub fn install<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    let n = resolve_threads(threads)?;
    Ok(pool(n)?.install(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_named_sized_and_cached() {
        let names = install(Some(2), || {
            rayon::broadcast(|_| std::thread::current().name().unwrap_or("").to_string())
        })
        .unwrap();
        assert_eq!(names.len(), 2);
        assert!(names.iter().all(|n| n.starts_with("flowgex-")));
        assert!(Arc::ptr_eq(&pool(2).unwrap(), &pool(2).unwrap()));
        assert!(resolve_threads(Some(0)).is_err());
    }
}
