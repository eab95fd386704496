"""The hub tests' marker. `-m "not hub"` (or RNNVIZ_SKIP_HUB=1) leaves them out."""


def pytest_configure(config):
    config.addinivalue_line("markers", "hub: runs a course on a real JupyterHub with system users "
                                       "(root, minutes); skip with -m 'not hub' or RNNVIZ_SKIP_HUB=1")
