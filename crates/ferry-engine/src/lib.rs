//! ferry's migration engine: plan, parallel copy, backpressure, verification, reports
