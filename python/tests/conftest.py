import sys
from pathlib import Path

# Make `import eqinfo` work without installing the package or setting PYTHONPATH.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
