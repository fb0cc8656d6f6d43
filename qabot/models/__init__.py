"""The models qabot runs: the sentence encoder (`encoder`) and the trained reader (`reader`), their
export and loading. Both are served by onnxruntime; torch is needed only to export or train."""
