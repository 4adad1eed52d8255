pub mod error;
pub mod read;
pub mod value;
