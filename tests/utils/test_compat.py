"""The stack fixes of mmaction_avslowfast.utils.compat, each proven on the real stack."""
import os
import os.path as osp
import subprocess
import sys
import threading

import pytest
import torch
import torch.nn as nn
from torch.utils.data import Dataset

import mmaction_avslowfast  # noqa: F401  (applies the fixes)
from mmaction_avslowfast.utils import compat


def run_python(code, env=None):
    return subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


# ------------------------------------------------------------------ drn shim
def test_stock_mmaction_models_import_fails_without_plugin():
    """The upstream defect (mmaction2#2714) is real on this stack."""
    if not compat.drn_is_missing():
        pytest.skip('this mmaction2 install ships localizers/drn')
    result = run_python('import mmaction.models')
    assert result.returncode != 0
    assert 'mmaction.models.localizers.drn' in result.stderr


def test_mmaction_models_imports_with_plugin():
    result = run_python('import mmaction_avslowfast, mmaction.models, sys; '
                        "print(type(sys.modules['mmaction.models.localizers.drn']).__name__)")
    assert result.returncode == 0, result.stderr
    assert 'module' in result.stdout


def test_shim_only_when_drn_really_missing(tmp_path):
    drn_dir = tmp_path / 'models' / 'localizers' / 'drn'
    assert compat.drn_is_missing(str(tmp_path))
    drn_dir.mkdir(parents=True)
    (drn_dir / 'drn.py').write_text('')
    assert not compat.drn_is_missing(str(tmp_path))
    # Already imported (or really present): a second call changes nothing.
    assert compat.install_drn_shim() is False


def test_missing_drn_placeholder_explains_itself():
    from mmaction.models.localizers import DRN
    if DRN is not compat._MissingDRN:
        pytest.skip('real DRN installed')
    with pytest.raises(ImportError, match='2714'):
        DRN()


# ------------------------------------------------------- safe checkpoint load
def _tiny_runner(work_dir, max_epochs, **kwargs):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Model(BaseModel):

        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, x, mode='tensor'):
            out = self.linear(torch.stack(x))
            return dict(loss=out.pow(2).mean()) if mode == 'loss' else out

    class Data(Dataset):

        def __len__(self):
            return 8

        def __getitem__(self, index):
            return dict(x=torch.full((2, ), float(index)))

    return Runner(
        model=Model(), work_dir=str(work_dir),
        train_dataloader=dict(dataset=Data(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=True),
                              collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0), **kwargs)


def test_runner_checkpoint_needs_the_fix():
    """Without the allowlist, torch >= 2.6 refuses an mmengine checkpoint."""
    if not hasattr(torch.serialization, 'safe_globals'):
        pytest.skip('torch < 2.5')
    from mmengine.logging import HistoryBuffer
    import io
    buffer = io.BytesIO()
    torch.save({'message_hub': {'log_scalars': {'loss': HistoryBuffer([1.0], [1])}}}, buffer)
    buffer.seek(0)
    with pytest.raises(Exception, match='HistoryBuffer'):
        torch.load(buffer)


def test_resume_and_load_from_runner_checkpoint(tmp_path):
    runner = _tiny_runner(tmp_path, max_epochs=2)
    runner.train()
    checkpoint = tmp_path / 'epoch_1.pth'
    assert checkpoint.exists()

    resumed = _tiny_runner(tmp_path / 'resume', max_epochs=3, resume=True,
                           load_from=str(checkpoint))
    resumed.train()
    assert resumed.epoch == 3
    assert resumed.iter == 3 * 2

    loaded = _tiny_runner(tmp_path / 'load', max_epochs=1, load_from=str(tmp_path / 'epoch_2.pth'))
    loaded.train()

    from mmengine.runner.checkpoint import _load_checkpoint
    state = _load_checkpoint(str(tmp_path / 'epoch_2.pth'))
    assert state['meta']['epoch'] == 2
    assert 'momentum_buffer' in str(state['optimizer']['state'])
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


class _RunsCommand:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _ReadsPrivateAttribute:

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_malicious_checkpoint_is_refused(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCommand(marker)}, path)
    with pytest.raises(compat.UnsafeCheckpointError, match=compat.ALLOW_UNSAFE_ENV):
        _load_checkpoint(str(path))
    assert not marker.exists()

    sneaky = tmp_path / 'getattr.pth'
    torch.save({'payload': _ReadsPrivateAttribute()}, sneaky)
    with pytest.raises(compat.UnsafeCheckpointError):
        _load_checkpoint(str(sneaky))


def test_explicit_opt_in_loads_a_trusted_pickle(tmp_path, monkeypatch):
    from mmengine.runner.checkpoint import _load_checkpoint
    marker = tmp_path / 'trusted-side-effect'
    path = tmp_path / 'trusted.pth'
    torch.save({'payload': _RunsCommand(marker)}, path)
    monkeypatch.setenv(compat.ALLOW_UNSAFE_ENV, '1')
    _load_checkpoint(str(path))
    assert marker.exists()


def test_loader_names_are_kept_for_mmengine_logs():
    from mmengine.runner.checkpoint import CheckpointLoader
    loader = CheckpointLoader._get_checkpoint_loader('/some/file.pth')
    assert loader.__name__ == 'load_from_local'
    assert loader.__mmaction_avslowfast_safe__


# ------------------------------------------------------------- packaging
def test_pkg_resources_available_for_mim_and_config_scopes():
    import pkg_resources  # noqa: F401
    from mim.utils import utils  # noqa: F401  (imports pkg_resources at module level)


def test_importlib_metadata_declared():
    requirements = open(osp.join(osp.dirname(__file__), '..', '..', 'requirements',
                                 'runtime.txt')).read()
    assert 'importlib_metadata' in requirements
    import importlib_metadata  # noqa: F401


# ------------------------------------------------------ CPU distributed init
def test_pytorch_launcher_initialises_on_cpu_and_nccl_falls_back_to_gloo():
    if torch.cuda.is_available():
        pytest.skip('the fix only acts without CUDA')
    import socket
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    code = ('import mmaction_avslowfast, torch.distributed as dist\n'
            'from mmengine.dist import init_dist\n'
            "init_dist('pytorch', backend='nccl')\n"
            'print(dist.get_backend(), dist.get_world_size())\n')
    result = run_python(code, env=dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                                       MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ['gloo', '1']


def test_stock_pytorch_launcher_fails_on_cpu():
    """The upstream defect: without the fix, init_dist needs CUDA."""
    if torch.cuda.is_available():
        pytest.skip('needs a machine without CUDA')
    code = ('from mmengine.dist import init_dist\n'
            "init_dist('pytorch', backend='gloo')\n")
    result = run_python(code, env=dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1',
                                       MASTER_ADDR='127.0.0.1', MASTER_PORT='29533'))
    assert result.returncode != 0
    assert 'NVIDIA driver' in result.stderr or 'CUDA' in result.stderr


# -- decord's stderr lines --------------------------------------------------
FFMPEG_LINE = (b'[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5598b0975180] '
               b'moov atom not found\n')
DECORD_LINE = (b'[21:00:58] /github/workspace/src/video/video_reader.cc:83: '
               b'ERROR opening: /data/x.mp4, Invalid data found\n')


def test_decoder_lines_are_dropped_and_other_output_kept(capfd):
    decoder_stderr_filtered = compat.decoder_stderr_filtered
    with decoder_stderr_filtered():
        os.write(2, FFMPEG_LINE + DECORD_LINE + b'a line of our own\n')
        with decoder_stderr_filtered():  # reentrant
            os.write(2, b'[h264 @ 0x55be7b12bec0] Invalid NAL unit size.\n')
        os.write(2, b'  [bt] (0) libdecord.so(+0x1234)\nlast line')
    os.write(2, b'\nafter\n')
    assert capfd.readouterr().err == 'a line of our own\nlast line\nafter\n'


def test_decoder_filter_across_threads_and_a_fork(capfd):
    """Threads that enter and leave in turn restore fd 2 once, at the
    last exit; a child forked meanwhile writes to the real stderr."""
    decoder_stderr_filtered = compat.decoder_stderr_filtered
    before = os.fstat(2).st_ino
    steps = [threading.Event() for _ in range(3)]

    def first():
        with decoder_stderr_filtered():
            os.write(2, b'first\n' + DECORD_LINE)
            steps[0].set()
            steps[1].wait(10)
        steps[2].set()

    thread = threading.Thread(target=first)
    thread.start()
    steps[0].wait(10)
    with decoder_stderr_filtered():
        steps[1].set()
        steps[2].wait(10)  # the first thread has left
        assert os.fstat(2).st_ino != before  # still redirected
        os.write(2, b'second\n' + FFMPEG_LINE)
        pid = os.fork()
        if pid == 0:  # the child
            os.write(2, b'child\n')
            with decoder_stderr_filtered():
                os.write(2, DECORD_LINE)
            os._exit(0)
        assert os.waitpid(pid, 0)[1] == 0
        assert capfd.readouterr().err == 'child\n'  # at once
    thread.join()
    assert os.fstat(2).st_ino == before
    err = capfd.readouterr().err
    assert sorted(err.splitlines()) == ['first', 'second']


# -- PyAV before decord ------------------------------------------------------
ENCODE_VP8 = (
    'import av, numpy as np, sys\n'
    'with av.open(sys.argv[1], "w") as c:\n'
    '    s = c.add_stream("libvpx", rate=8)\n'
    '    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"\n'
    '    for i in range(4):\n'
    '        f = av.VideoFrame.from_ndarray(\n'
    '            np.full((48, 64, 3), 40 * i, np.uint8), format="rgb24")\n'
    '        f.pts = i\n'
    '        c.mux(s.encode(f))\n'
    '    c.mux(s.encode(None))\n'
    'print(len(list(av.open(sys.argv[1]).decode(video=0))))\n')


def encode_vp8_after(imports, path):
    return subprocess.run([sys.executable, '-c', imports + ENCODE_VP8,
                           str(path)], capture_output=True, text=True,
                          timeout=300)


def test_webm_encodes_after_the_plugin_and_decord(tmp_path):
    """The plugin loads PyAV first: a later decord import leaves PyAV's
    VP8 encoder working, and the file holds the 4 frames."""
    result = encode_vp8_after('import mmaction_avslowfast, decord\n',
                              tmp_path / 'a.webm')
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == '4'


def test_decord_first_breaks_pyav_vp8(tmp_path):
    """The upstream defect, and the fix's report of it: decord imported
    first, PyAV cannot open libvpx, and load_pyav_before_decord says so."""
    result = encode_vp8_after(
        'import decord\n'
        'from mmaction_avslowfast.utils import compat\n'
        'print(compat.load_pyav_before_decord())\n', tmp_path / 'b.webm')
    assert result.returncode != 0
    assert 'avcodec_open2("libvpx"' in result.stderr
    assert 'False' in result.stdout.split()
