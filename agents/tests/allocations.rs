//! The trainer and its learner allocate nothing per env step, as the envs do not: with their
//! buffers grown by a first iteration, an iteration of 64 steps makes exactly as many allocations
//! as one of 32 (the update's are per minibatch, not per step). Counted on the test's thread,
//! where the default fused CPU learner and a one-thread vector env do all their work.
//!
//! Counted apart, told apart by their backtraces: `gemm`, the matrix-product crate of burn's CPU
//! backend and of the fused learner, allocates its packing buffers inside every product and takes
//! no buffer from the caller; and the envs, whose episode logs grow with the events of an episode
//! (their own tests hold their steps to no allocation).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use burn::tensor::Device;
use moralgym_agents::{PpoConfig, Trainer, TrainerConfig};
use moralgym_envs::VecEnv;
use serde_json::json;

thread_local! {
    /// Whether this thread's allocations are being counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    /// This thread's counted allocations: inside gemm, inside an env, elsewhere.
    static COUNTS: Cell<[usize; 3]> = const { Cell::new([0; 3]) };
}

struct Counting;

fn count() {
    if !COUNTING.try_with(Cell::get).unwrap_or(false) {
        return;
    }
    // the backtrace allocates too: not counted
    COUNTING.with(|c| c.set(false));
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let bucket = if ["gemm::gemm::", "gemm_common::", "gemm_f32::"].iter().any(|f| trace.contains(f)) {
        0
    } else if trace.contains("moralgym_envs::") {
        1
    } else {
        2
    };
    COUNTS.with(|c| {
        let mut counts = c.get();
        counts[bucket] += 1;
        c.set(counts);
    });
    COUNTING.with(|c| c.set(true));
}

// SAFETY: every call is passed to the system allocator unchanged; counting touches only
// thread-local cells, which allocate nothing, and turns itself off while it takes a backtrace.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (inside gemm, inside an env, elsewhere) of a second iteration of `steps` steps, in which no
/// episode ends.
fn allocations_of_an_iteration(steps: usize) -> [usize; 3] {
    let config = json!({"max_steps": 100_000});
    let venv = VecEnv::make("CoinGame-v1", &config, 4, 1).expect("env");
    let tc = TrainerConfig { ppo: PpoConfig { num_steps: steps, ..PpoConfig::default() }, ..TrainerConfig::default() };
    let mut t = Trainer::new(venv, &config, tc, 4 * steps as u64 * 3, 1, &Device::flex()).expect("trainer");
    t.iterate().expect("first iteration");
    COUNTS.with(|c| c.set([0; 3]));
    COUNTING.with(|c| c.set(true));
    t.iterate().expect("second iteration");
    COUNTING.with(|c| c.set(false));
    COUNTS.with(Cell::get)
}

#[test]
fn an_iteration_allocates_the_same_however_many_steps_it_runs() {
    let ([gemm_short, _, short], [gemm_long, _, long]) =
        (allocations_of_an_iteration(32), allocations_of_an_iteration(64));
    assert!(gemm_short > 0 && gemm_long > gemm_short, "gemm's allocations are told apart ({gemm_short}, {gemm_long})");
    assert_eq!(short, long, "the trainer's and learner's allocations in 32 steps and in 64 steps");
}
