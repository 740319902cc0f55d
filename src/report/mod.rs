//! Reports: the serialised record and the CSV / JSON Lines / JSON writers, fed by one writer task.
