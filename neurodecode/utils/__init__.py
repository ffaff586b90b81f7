"""Small shared helpers with no science in them: atomic writes, torch devices, persistence."""
