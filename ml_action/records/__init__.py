"""Records: the files the action writes and reads back (the model file and its trusted loader, the result
bundle, data snapshots, reference rows, the model card, provenance, the manifest's fields)."""
