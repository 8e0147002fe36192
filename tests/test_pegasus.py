"""jaxgan pegasus: every file written, the best candidate regenerated bit for bit from pegasus.json, bad runs
refused in one line."""
import json
import shlex

import numpy as np
import pytest
from PIL import Image

import jaxgan
from jaxgan import cli, pegasus, run, sampling, train, wings
from jaxgan.errors import UserError
from tests.conftest import tiny_config

FOUR = ("airplane", "bird", "deer", "horse")


def _tiny_run(workdir, small_images, **changes):
    cfg = tiny_config(steps=2, checkpoint_every=2, **changes)
    images, labels = small_images
    keep = np.isin(labels, cfg.class_ids)
    remapped = np.searchsorted(np.array(cfg.class_ids), labels[keep]).astype(np.int32)
    orig = train.load_train_data
    train.load_train_data = lambda cfg, data_dir=None: (images[keep], remapped)
    try:
        train.train(cfg, workdir, progress=False)
    finally:
        train.load_train_data = orig
    return workdir


@pytest.fixture(scope="module")
def small_ref(small_images, evaluator):
    """The mock training set stands in for CIFAR-10's: the neighbours and thresholds are computed against it."""
    from jaxgan.metrics import reference

    return reference.from_arrays(evaluator, *small_images)


@pytest.fixture(scope="module")
def searched(tmp_path_factory, small_images, small_ref):
    workdir = _tiny_run(tmp_path_factory.mktemp("run"), small_images, model="cdcgan", classes=FOUR, num_classes=4,
                        loss="hinge")
    out = workdir.parent / "pegasus"
    result = pegasus.run(workdir, out, budget=76, reference=small_ref, log=lambda line: None, score="whole")
    return workdir, out, result


def test_writes_every_file(searched):
    _, out, result = searched
    sizes = {"pegasus.png": (32, 32), "pegasus_x8.png": (256, 256)}
    for name in ("pegasus.png", "pegasus_x8.png", "candidates.png", "batch64.png", "interpolations.png",
                 "neighbours.png"):
        with Image.open(out / name) as img:
            assert img.size == sizes.get(name, img.size) and min(img.size) >= 32
    x1, x8 = np.asarray(Image.open(out / "pegasus.png")), np.asarray(Image.open(out / "pegasus_x8.png"))
    np.testing.assert_array_equal(np.repeat(np.repeat(x1, 8, 0), 8, 1), x8)
    saved = json.loads((out / "pegasus.json").read_text())
    assert len(saved["candidates"]) == 76 == result["budget"] and len(saved["top"]) == 16
    best = saved["pegasus"]
    for key in ("p_horse", "p_wings", "d_percentile", "feature_density", "uniqueness_pixel", "score", "command"):
        assert key in best
    assert 0 <= best["p_horse"] <= 1 and abs(sum(best["class_probabilities"].values()) - 1) < 1e-3
    # The ranking puts eligible candidates first, then the score.
    # One latent (per=1 here) under 76 mixtures/truncations: its best candidate first, the others in order.
    ranked = [(not c["eligible"], -c["score"]) for c in saved["top"]]
    everything = [(not c["eligible"], -c["score"]) for c in saved["candidates"]]
    assert ranked[0] == min(everything) and ranked[1:] == sorted(ranked[1:])
    # Five pixel and five feature neighbours for the Pegasus and 8 samples.
    assert np.array(saved["neighbour_rows"]["pixel"]).shape == (9, 5)
    # The judge's verdicts (it reports only): on the Pegasus, the top 16 and the batch of 64.
    judge = saved["judge"]
    assert judge["weights"] == jaxgan.evaluator.load_judge().weights_id
    assert len(judge["top"]["images"]) == 16 and len(judge["batch64"]["images"]) == 64
    assert sum(judge["batch64"]["top_classes"].values()) == 64
    assert judge["pegasus"]["top_class"] in jaxgan.config.CIFAR10_CLASSES


def test_pegasus_json_regenerates_the_image_with_jaxgan_sample(searched, tmp_path, capsys):
    _, out, _ = searched
    best = json.loads((out / "pegasus.json").read_text())["pegasus"]
    args = shlex.split(best["command"])[1:]
    args[args.index("--out") + 1] = str(tmp_path / "again.png")
    assert cli.main(args) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "again.png")),
                                  np.asarray(Image.open(out / "pegasus.png")))


def test_one_hot_mixture_candidates_are_the_plain_class_samples(searched):
    """The search's mixtures go through the same path as labels: horse=1 is exactly the horse class."""
    workdir, _, _ = searched
    cfg, state = run.load(workdir)
    plain, _ = sampling.sample(cfg, state, 5, seed=2, labels=np.full(5, cfg.class_ids.index(7)))
    mix = sampling.parse_mix("horse=1|horse=1|horse=1", cfg)
    mixed, _ = sampling.sample(cfg, state, 5, seed=2, labels=np.broadcast_to(mix, (5,) + mix.shape))
    np.testing.assert_array_equal(plain, mixed)


def test_search_draws_each_candidate_as_sample_does(tmp_path, small_images, monkeypatch):
    """Every mixture of one shape (flat, per level, class map) goes through the generator in one pass; each
    candidate is still bit for bit the image `sampling.sample` (and so `jaxgan sample`) draws."""
    workdir = _tiny_run(tmp_path / "run", small_images, model="cdcgan", classes=FOUR, num_classes=4, loss="hinge",
                        spatial_mix=0.5)
    cfg, state = run.load(workdir)
    mixes = pegasus.mixtures(cfg)
    assert len({sampling.parse_mix(m, cfg).ndim for m in mixes}) == 3  # all three shapes are searched
    monkeypatch.setattr(pegasus, "score_images", lambda *args: None)  # the drawing is under test, not the scores
    per = 3
    records, images, _ = pegasus.search(cfg, state, per * len(mixes) * len(pegasus.TRUNCATIONS), 0, None, None,
                                        log=lambda line: None)
    assert len(records) == len(images) == per * len(mixes) * len(pegasus.TRUNCATIONS)
    for start in range(0, len(records), per):
        r = records[start]
        assert [c["index"] for c in records[start:start + per]] == list(range(per))
        alone, _ = sampling.sample(cfg, state, per, seed=0, truncation=r["truncation"],
                                   labels=pegasus._mixture_array(cfg, r["mix"], per))
        np.testing.assert_array_equal(images[start:start + per], alone, err_msg=f"{r['mix']} t={r['truncation']}")


def test_side_by_side_with_the_autoencoder_baseline(searched, tmp_path):
    _, out, result = searched
    (tmp_path / "ae").mkdir()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(tmp_path / "ae" / "ae_pegasus.png")
    probs = dict.fromkeys(jaxgan.config.CIFAR10_CLASSES, 0.1)
    (tmp_path / "ae" / "metrics.json").write_text(json.dumps({"pegasus": {"class_probabilities": probs}}))
    pegasus.side_by_side(tmp_path, pegasus._check_baseline(tmp_path / "ae"),
                         np.asarray(Image.open(out / "pegasus.png")), result["pegasus"]["class_probabilities"])
    with Image.open(tmp_path / "side_by_side.png") as img:
        assert img.width >= 2 * 256
    with pytest.raises(UserError, match="autoencoder_baseline"):
        pegasus._check_baseline(tmp_path / "nothing")


def test_mixtures_are_valid_and_need_horse_and_wings():
    cfg = jaxgan.load_experiment("pegasus")
    mixes = pegasus.mixtures(cfg)
    assert len(mixes) == len(set(mixes)) > 10
    for m in mixes:
        sampling.parse_mix(m, cfg)  # every one sums to 1 and names known classes
    assert not any(";" in m for m in mixes)  # class maps only for models trained on them
    maps = [m for m in pegasus.mixtures(cfg.replace(spatial_mix=0.5)) if m not in mixes]
    assert len(maps) == 2 * len(pegasus.WING_REGIONS)
    for m in maps:
        weights = sampling.parse_mix(m, cfg)
        assert weights.shape == (4, 4, 4) and weights[3, :, FOUR.index("horse")].all()  # horse below the wings
    with pytest.raises(UserError, match="horse and on bird or airplane"):
        pegasus.mixtures(cfg.replace(classes=("cat", "dog", "horse"), num_classes=3))
    with pytest.raises(UserError, match="unconditional"):
        pegasus.mixtures(jaxgan.load_experiment("dcgan"))


def test_bad_inputs_are_one_line_errors(searched, tmp_path, small_images, capsys):
    workdir, _, _ = searched
    unconditional = _tiny_run(tmp_path / "dcgan", small_images)
    cases = [
        (["pegasus", "--workdir", unconditional, "--out", tmp_path / "p"], "unconditional"),
        (["pegasus", "--workdir", tmp_path / "nothing", "--out", tmp_path / "p"], "not a jaxgan run folder"),
        (["pegasus", "--workdir", workdir, "--out", tmp_path / "p", "--budget", "10"], "--budget"),
        (["pegasus", "--workdir", workdir, "--out", tmp_path / "no" / "p"], "does not exist"),
        (["sample", "--workdir", unconditional, "--mix", "horse=1", "--out", tmp_path / "s.png"], "unconditional"),
        (["sample", "--workdir", workdir, "--mix", "pegasus=1", "--out", tmp_path / "s.png"], "unknown class"),
        (["sample", "--workdir", workdir, "--mix", "horse=0.7,bird=0.2", "--out", tmp_path / "s.png"],
         "summing to 1"),
        (["sample", "--workdir", workdir, "--first", "-1", "--out", tmp_path / "s.png"], "--first"),
    ]
    for args, words in cases:
        capsys.readouterr()
        assert cli.main([str(a) for a in args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("jaxgan: error:") and words in err[0], (args, err)
    assert not (tmp_path / "p").exists()  # refused before anything was written


def test_whiteness_prefers_a_white_subject():
    sky = np.zeros((32, 32, 3), np.uint8)
    sky[:] = (70, 110, 200)  # blue background
    white, brown, grey = sky.copy(), sky.copy(), sky.copy()
    white[10:24, 8:26] = (240, 240, 235)
    brown[10:24, 8:26] = (120, 70, 30)
    grey[10:22, 10:22] = (150, 150, 150)  # 14% of the image: found as foreground
    w = pegasus.whiteness(np.stack([white, brown, grey]))
    assert w[0] > 0.9 and w[1] < 0.3 and 0.5 < w[2] < 0.65, w
    # No foreground at all (a flat image): the centre stands in for it.
    assert pegasus.whiteness(np.full((1, 32, 32, 3), 255, np.uint8))[0] == 1.0


def test_the_white_preference_reranks_only_by_whiteness_among_eligible():
    records = [{"seed": 0, "index": i} for i in range(3)]
    scores = {"score": np.array([0.9, 0.8, 0.95]), "whiteness": np.array([0.2, 0.9, 0.1]),
              "eligible": np.array([True, True, False])}
    assert pegasus.ranking(records, scores) == [0, 1, 2]
    assert pegasus.ranking(records, scores, "white") == [1, 0, 2]


def test_part_score_ranks_by_the_band_above_the_back_and_refinement_is_reported_apart(searched, small_ref, tmp_path):
    workdir, _, _ = searched
    result = pegasus.run(workdir, tmp_path / "p", budget=76, reference=small_ref, log=lambda line: None,
                         refine_steps=3)  # the part-aware score is the default
    saved = json.loads((tmp_path / "p" / "pegasus.json").read_text())
    assert saved["score"] == "part" and result["score"] == "part"
    candidates = saved["candidates"]
    pool = [c for c in candidates if c["part_eligible"]] or candidates
    assert saved["pegasus"]["part_score"] == max(c["part_score"] for c in pool)
    for c in candidates:  # the part score is the part recognisability times the same realism
        assert c["part_score"] == pytest.approx(c["part_recognisability"] * c["realism"], rel=1e-3, abs=1e-5)
        if not c["eligible"]:  # the steady horse reading is paid for the eligible candidates only
            assert c["p_horse_steady"] == c["p_horse"]
    refined = saved["refined"]
    assert refined["steps"] == 3 and len(refined["images"]) == 16
    assert [e["from"]["index"] for e in refined["images"]] == [t["index"] for t in saved["top"]]
    with np.load(tmp_path / "p" / "refined.npz") as f:
        assert f["z"].shape == (16, 16) and f["mix"].shape == (16, 3, 4) and f["images"].shape == (16, 32, 32, 3)
        np.testing.assert_allclose(f["mix"].sum(-1), 1.0, atol=1e-5)
    assert Image.open(tmp_path / "p" / "refined.png").size[0] > 8 * 32
    with pytest.raises(UserError, match="unknown score 'wing'"):
        pegasus.run(workdir, tmp_path / "q", budget=76, reference=small_ref, score="wing")
    with pytest.raises(UserError, match="--refine must not be negative"):
        pegasus.run(workdir, tmp_path / "q", budget=76, reference=small_ref, refine_steps=-2)
    with pytest.raises(UserError, match="--sketch must not be negative"):
        pegasus.run(workdir, tmp_path / "q", budget=76, reference=small_ref, sketch_steps=-1)
    with pytest.raises(UserError, match="--budget must be at least 64, got 63"):
        pegasus.run(workdir, tmp_path / "q", budget=63, reference=small_ref)
    assert not (tmp_path / "q").exists()  # refused before anything is written


def test_the_sketch_refines_the_white_ranking_apart_and_names_its_pick(searched, small_ref, tmp_path):
    workdir, _, _ = searched
    pegasus.run(workdir, tmp_path / "p", budget=76, reference=small_ref, log=lambda line: None, sketch_steps=2)
    saved = json.loads((tmp_path / "p" / "pegasus.json").read_text())
    sketched = saved["sketched"]
    assert sketched["steps"] == 2 and len(sketched["images"]) == 16 and "refined" not in saved
    assert sketched["weights"] == wings.SKETCH_WEIGHTS
    cands = saved["candidates"]
    records = [{k: c[k] for k in ("seed", "index", "mix", "truncation")} for c in cands]
    scores = {k: np.array([c[k] for c in cands]) for k in ("part_score", "part_eligible", "whiteness")}
    white = pegasus.ranking(records, scores, "white", "part")[:16]  # the white ranking's top 16, in its order
    assert [e["from"]["index"] for e in sketched["images"]] == [cands[i]["index"] for i in white]
    entries = sketched["images"]
    pool = [e for e in entries if e["eligible"]] or entries  # "eligible" there: part-eligible
    assert entries[sketched["pegasus"]]["part_score"] == max(e["part_score"] for e in pool)
    with np.load(tmp_path / "p" / "sketched.npz") as f:
        assert f["wing"].shape == f["sky"].shape == (16, 32, 32) and f["images"].shape == (16, 32, 32, 3)
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "p" / "pegasus_sketched.png")),
                                      f["images"][sketched["pegasus"]])
    assert Image.open(tmp_path / "p" / "sketched.png").size[0] > 12 * 32
    assert Image.open(tmp_path / "p" / "pegasus_sketched_x8.png").size == (256, 256)


def test_a_model_trained_on_class_maps_is_searched_with_them_and_they_are_refined_apart(tmp_path, small_images,
                                                                                         small_ref):
    workdir = _tiny_run(tmp_path / "run", small_images, model="cdcgan", classes=FOUR, num_classes=4, loss="hinge",
                        spatial_mix=0.5)
    cfg = run.load_config(workdir)
    budget = len(pegasus.mixtures(cfg)) * len(pegasus.TRUNCATIONS)  # one latent per mixture and truncation
    pegasus.run(workdir, tmp_path / "p", budget=budget, reference=small_ref, log=lambda line: None, refine_steps=1)
    saved = json.loads((tmp_path / "p" / "pegasus.json").read_text())
    maps = [c for c in saved["candidates"] if ";" in c["mix"]]
    assert len(maps) == 2 * len(pegasus.WING_REGIONS) * len(pegasus.TRUNCATIONS)
    # A map candidate's command regenerates it exactly.
    first = maps[0]
    args = shlex.split(first["command"])[1:]
    args[args.index("--out") + 1] = str(tmp_path / "again.npz")
    assert cli.main(args) == 0
    cfg, state = run.load(workdir)
    direct, _ = sampling.sample(cfg, state, 1, seed=first["seed"], first=first["index"], truncation=first[
        "truncation"], labels=sampling.parse_mix(first["mix"], cfg)[None])
    with np.load(tmp_path / "again.npz") as f:
        np.testing.assert_array_equal(f["images"], direct)
    top_is_map = [";" in t["mix"] for t in saved["top"]]
    with np.load(tmp_path / "p" / "refined.npz") as f:
        assert f["is_map"].tolist() == top_is_map
        assert f["map"].shape == (sum(top_is_map), 4, 4, 4) and f["mix"].shape == (16 - sum(top_is_map), 3, 4)
        for key in ("map", "mix"):
            np.testing.assert_allclose(f[key].sum(-1), 1.0, atol=1e-5)
        assert f["images"].shape == (16, 32, 32, 3)
