"""The README and docs/ stay true: every relative link and #anchor points
somewhere, and the command blocks shown as runnable (```bash) name configs,
tools and options that exist."""
import glob
import os.path as osp
import re
import shlex

import pytest
from tool_helpers import REPO

LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FENCE = re.compile(r'^```(\w*)\s*$')
# options of MMAction2's tools/train.py and tools/test.py (through mim) and
# of mim itself
MIM_OPTIONS = {
    'train': {'--work-dir', '--resume', '--amp', '--no-validate',
              '--auto-scale-lr', '--seed', '--diff-rank-seed',
              '--deterministic', '--cfg-options', '--launcher', '--gpus',
              '--gpus-per-node', '--cpus-per-task', '--partition',
              '--srun-args', '--port', '-y', '--yes'},
    'test': {'--checkpoint', '--work-dir', '--dump', '--cfg-options',
             '--show-dir', '--show', '--interval', '--wait-time', '--launcher',
             '--gpus', '--gpus-per-node', '--cpus-per-task', '--partition',
             '--srun-args', '--port', '-y', '--yes'},
}


def markdown_files():
    files = [osp.join(REPO, 'README.md')]
    files += sorted(glob.glob(osp.join(REPO, 'docs', '**', '*.md'),
                              recursive=True))
    return files


def rel(path):
    return osp.relpath(path, REPO)


def slug(heading):
    """GitHub's anchor of a heading."""
    text = re.sub(r'[`*]|<[^>]+>', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r'```.*?```', '', text, flags=re.S)  # no code headings
    seen, out = {}, set()
    for heading in re.findall(r'^#{1,6}\s+(.+?)\s*#*$', text, re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f'{base}-{count}')
    return out


def links(path):
    with open(path) as f:
        text = f.read()
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    text = re.sub(r'`[^`\n]*`', '', text)
    return LINK.findall(text)


@pytest.mark.parametrize('path', markdown_files(), ids=rel)
def test_relative_links_and_anchors_resolve(path):
    broken = []
    for target in links(path):
        if re.match(r'^[a-z]+:', target):
            continue  # http(s), mailto: not checked offline
        file_part, _, anchor = target.partition('#')
        dest = osp.normpath(osp.join(osp.dirname(path), file_part)) \
            if file_part else path
        if not osp.exists(dest):
            broken.append(f'{target}: no {rel(dest)}')
        elif anchor and dest.endswith('.md') and anchor not in anchors(dest):
            broken.append(f'{target}: no heading #{anchor} in {rel(dest)}')
    assert not broken, f'{rel(path)}:\n  ' + '\n  '.join(broken)


def command_blocks(path):
    """The command lines of the ```bash blocks (continuations joined)."""
    with open(path) as f:
        lines = f.read().split('\n')
    blocks, language, block = [], None, []
    for line in lines:
        fence = FENCE.match(line.strip())
        if fence and language is None:
            language, block = fence.group(1), []
        elif line.strip() == '```' and language is not None:
            if language in ('bash', 'sh', 'shell'):
                blocks.append(block)
            language = None
        elif language is not None:
            block.append(line)
    commands = []
    for block in blocks:
        joined = '\n'.join(block).replace('\\\n', ' ')
        for line in joined.split('\n'):
            line = line.split(' # ')[0].strip()
            if line and not line.startswith('#'):
                commands.append(line)
    return commands


def tokens(command):
    try:
        return shlex.split(command, comments=True)
    except ValueError:
        return command.split()


def check_command(command):
    """Problems of one shell command line."""
    problems = []
    words = tokens(command)
    for word in words:
        for path in re.findall(r'(?:^|=)((?:configs|tools|benchmarks)/'
                               r'[\w./-]+\.(?:py|sh|yml))', word):
            if not re.search(r'[<>*{}]', path) and \
                    not osp.exists(osp.join(REPO, path)):
                problems.append(f'{path} does not exist')
    for i, word in enumerate(words):
        if word in ('python', 'python3') and i + 1 < len(words) and \
                words[i + 1].endswith('.py') and \
                osp.exists(osp.join(REPO, words[i + 1])):
            with open(osp.join(REPO, words[i + 1])) as f:
                source = f.read()
            for option in words[i + 2:]:
                name = option.split('=')[0]
                if re.match(r'^--?[a-zA-Z][\w-]*$', name) and \
                        name not in ('-h', '--help') and \
                        f"'{name}'" not in source and \
                        f'"{name}"' not in source:
                    problems.append(f'{words[i + 1]} has no option {name}')
    if len(words) > 2 and words[0] == 'mim' and words[1] in MIM_OPTIONS:
        for word in words[3:]:
            name = word.split('=')[0]
            if name.startswith('-') and name not in MIM_OPTIONS[words[1]]:
                problems.append(f'mim {words[1]} has no option {name}')
    return problems


@pytest.mark.parametrize('path', markdown_files(), ids=rel)
def test_command_blocks_name_what_exists(path):
    problems = []
    for command in command_blocks(path):
        problems += [f'{command[:70]}...: {p}' for p in check_command(command)]
    assert not problems, f'{rel(path)}:\n  ' + '\n  '.join(problems)


def test_the_checks_catch_what_they_name(tmp_path):
    assert check_command('mim train mmaction configs/nope.py --gpus 1')
    assert check_command('python tools/demo.py v.mp4 c.py k.pth --no-such')
    assert check_command('mim test mmaction configs/avslowfast_demo.py '
                         '--checkpoint x.pth --bogus')
    assert not check_command(
        'python tools/demo.py v.mp4 configs/avslowfast_demo.py k.pth '
        '--label-map k400 --out x.png')
    doc = tmp_path / 'page.md'
    doc.write_text('# Title\n\n[ok](#title) [bad](#nope) [gone](nowhere.md)'
                   '\n')
    assert {t for t in links(str(doc))} == {'#title', '#nope', 'nowhere.md'}
    assert anchors(str(doc)) == {'title'}


@pytest.mark.parametrize('verb', sorted(MIM_OPTIONS))
def test_mim_options_hold_mmactions(verb):
    """MIM_OPTIONS holds every option of MMAction2's train.py / test.py."""
    import mmaction
    source = osp.join(osp.dirname(mmaction.__file__), '.mim', 'tools',
                      f'{verb}.py')
    with open(source) as f:
        found = set(re.findall(r"add_argument\(\s*'(--[\w-]+)'", f.read()))
    assert found - {'--local_rank', '--local-rank'} <= MIM_OPTIONS[verb]
