//! chavion-tui: a full-screen terminal control room for the Chavion multi-agent platform.
//! See docs/ARCHITECTURE.md for the shape: feeds → events → pure update → effects, and a
//! pure draw.

pub mod actions;
pub mod app;
pub mod cli;
pub mod clients;
pub mod config;
pub mod event;
pub mod executor;
pub mod exporter;
pub mod feeds;
pub mod gate;
pub mod glob;
pub mod headless;
pub mod house;
pub mod http;
pub mod kept;
pub mod lines;
pub mod logging;
pub mod orders;
pub mod platform;
pub mod private_files;
pub mod recorder;
pub mod redis_url;
pub mod replay;
pub mod run;
pub mod sanitize;
pub mod shell;
pub mod store;
pub mod term;
pub mod ui;
pub mod wiring;
