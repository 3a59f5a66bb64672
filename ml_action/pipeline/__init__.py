"""The pipeline: the steps a mode strings together (load data, build and train the model, search, run the
data checks, rescore the champion, publish and promote, reproduce). It calls the core and the adapters."""
