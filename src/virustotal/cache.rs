//! Placeholder: being written (verdict cache shared through Redis).
