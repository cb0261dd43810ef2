"""evalkit inside other tools' loops: `transformers_callback.EvalkitCallback` for the transformers Trainer."""
