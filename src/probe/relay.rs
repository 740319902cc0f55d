//! The relay test catalogue as data: MAIL FROM / RCPT TO templates, one line per variant.
