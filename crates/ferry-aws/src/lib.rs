//! ferry's AWS side.
