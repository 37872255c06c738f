//! The compiled core of llmobs' reader: JSONL lines straight into columns, on several threads,
//! every line it is unsure of left to the pydantic models (see `record`).

pub mod claude_code;
pub mod columns;
pub mod ids;
mod json;
pub mod lines;
pub mod record;
pub mod spans;
pub mod time;

#[cfg(feature = "python")]
mod python;
