"""Registry of every remote file the course uses: where it lives, its checksum, its licence.

Each file is identified by its path relative to a data root (the torchvision layout, so a
pre-loaded folder made for torchvision works as is). ``sha256`` is the checksum of the file as
used (after unpacking); ``archive_md5`` is the official checksum of the ``.gz`` that is downloaded.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One file the course can fetch.

    Attributes
    ----------
    relpath : str
        Path below a data root, e.g. ``"MNIST/raw/train-images-idx3-ubyte"``.
    sha256 : str
        SHA-256 of the file as used.
    urls : tuple of str
        Official source first, then mirrors. With ``archive="gzip"`` they serve ``relpath + ".gz"``.
    archive : str or None
        ``"gzip"`` when the download is a gzip archive of the file.
    archive_md5 : str or None
        Official MD5 of that archive.
    """

    relpath: str
    sha256: str
    urls: tuple[str, ...]
    archive: str | None = None
    archive_md5: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A named group of files with its licence and source page."""

    name: str
    title: str
    licence: str
    homepage: str
    files: tuple[RemoteFile, ...]

    @property
    def folder(self) -> str:
        """The folder (relative to a data root) that holds the dataset's files."""
        return self.files[0].relpath.rsplit("/", 1)[0]


_MNIST_URLS = (
    "https://yann.lecun.com/exdb/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
_FASHION_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_SHAP_DATA_URL = "https://raw.githubusercontent.com/shap/shap/master/data/imagenet50/"
_CLASS_INDEX_URL = (
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
)

MNIST = Dataset(
    name="mnist",
    title="MNIST handwritten digits",
    licence="CC BY-SA 3.0 (Y. LeCun, C. Cortes)",
    homepage="https://yann.lecun.com/exdb/mnist/",
    files=(
        RemoteFile(
            "MNIST/raw/train-images-idx3-ubyte",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            (
                _MNIST_URLS[0] + "train-images-idx3-ubyte.gz",
                _MNIST_URLS[1] + "train-images-idx3-ubyte.gz",
            ),
            archive="gzip",
            archive_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        RemoteFile(
            "MNIST/raw/train-labels-idx1-ubyte",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            (
                _MNIST_URLS[0] + "train-labels-idx1-ubyte.gz",
                _MNIST_URLS[1] + "train-labels-idx1-ubyte.gz",
            ),
            archive="gzip",
            archive_md5="d53e105ee54ea40749a09fcbcd1e9432",
        ),
        RemoteFile(
            "MNIST/raw/t10k-images-idx3-ubyte",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            (
                _MNIST_URLS[0] + "t10k-images-idx3-ubyte.gz",
                _MNIST_URLS[1] + "t10k-images-idx3-ubyte.gz",
            ),
            archive="gzip",
            archive_md5="9fb629c4189551a2d022fa330f9573f3",
        ),
        RemoteFile(
            "MNIST/raw/t10k-labels-idx1-ubyte",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            (
                _MNIST_URLS[0] + "t10k-labels-idx1-ubyte.gz",
                _MNIST_URLS[1] + "t10k-labels-idx1-ubyte.gz",
            ),
            archive="gzip",
            archive_md5="ec29112dd5afa0611ce80d1b7f02629c",
        ),
    ),
)

FASHION_MNIST = Dataset(
    name="fashion-mnist",
    title="Fashion-MNIST (Zalando)",
    licence="MIT (Zalando SE)",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    files=(
        RemoteFile(
            "FashionMNIST/raw/train-images-idx3-ubyte",
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            (_FASHION_URL + "train-images-idx3-ubyte.gz",),
            archive="gzip",
            archive_md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        RemoteFile(
            "FashionMNIST/raw/train-labels-idx1-ubyte",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            (_FASHION_URL + "train-labels-idx1-ubyte.gz",),
            archive="gzip",
            archive_md5="25c81989df183df01b3e8a0aad5dffbe",
        ),
        RemoteFile(
            "FashionMNIST/raw/t10k-images-idx3-ubyte",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            (_FASHION_URL + "t10k-images-idx3-ubyte.gz",),
            archive="gzip",
            archive_md5="bef4ecab320f06d8554ea6380940ec79",
        ),
        RemoteFile(
            "FashionMNIST/raw/t10k-labels-idx1-ubyte",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
            (_FASHION_URL + "t10k-labels-idx1-ubyte.gz",),
            archive="gzip",
            archive_md5="bb300cfdad3c16e7a12a480ee83cd310",
        ),
    ),
)

_PHOTO_SHA256 = {
    "sim_n01549053_4208.jpg": "8b00bb0952fa01bdccf7bb9ab086bc423359a6a0d22ed749ebb19827ef7b3142",
    "sim_n01624305_3109.jpg": "501c3724e9e382175970f89da158ec15564035c3d6f4cceba77d79f856a204fa",
    "sim_n01642257_3703.jpg": "8848428be26da6cd5dfe32dedefa1f899eb88535a474b734c4e320773562fc8b",
    "sim_n01687978_7467.jpg": "24384916aa777290616dd38b13fd770364d50db2277c17f0366f2b9c267dd0a6",
    "sim_n01887474_9375.jpg": "272f640c64fb3670799643c69f5e27c96ca4bdc2fbd470084fbf34cb255f3929",
    "sim_n02010272_1613.jpg": "2a8c892f86e8c423bb423c45028259a5dc37f302bc583a54305dda65271a3aba",
    "sim_n02011805_6117.jpg": "3c86d8f846cef9f22483c843511fd553c5f92119b0c239c600621671da28ae27",
    "sim_n02033561_2663.jpg": "633100188813323bf82e21eaa1eaf6c1675b7ea6465fb01d26613cfdc556f24d",
    "sim_n02138441_3552.jpg": "5729fd0210fd2deee0eeaa4413612af7f6764281732e726e897cc4c4d51f314d",
    "sim_n02190166_6252.jpg": "f776a3948db100c41ca5089eca376bd4f4c8b5607fe4ae4c56788f6888152552",
    "sim_n02382204_7427.jpg": "0b0a3bd95eb82eaa70088133cf426ebf4ccdb377ad9a683acab5166a49bfbe8b",
    "sim_n02395694_14311.jpg": "cf2505326aed7a1446a267db4223e1a9b828e25be1577927b4db77d56bf92b97",
    "sim_n02968333_22100.jpg": "c8c10e75d1aba85d215da77b9a535f1aa39ade54885d7394417b7c8f1d5f81ee",
    "sim_n03029197_6381.jpg": "1709db4c5cce2e2fbbdc3379094301057f077d3e49d68ac30abbfb35f13b57a4",
    "sim_n03049924_13.jpg": "7a38e21b85d00d71c1688df210c2cace611dc249cfcecd850ab24185869c52c3",
    "sim_n03061345_7223.jpg": "b45628477c01ed0e6a1afa726af12174813d139ea48cf494f24b1d62af0bcb65",
    "sim_n03118969_4898.jpg": "f79c5609dc9e3c4f5dee3effabb01b2cd3b30e40c952175130d9fdd892667df7",
    "sim_n03235180_7802.jpg": "814af40f66e3ed3981088754d98cf1485e194c5f1ba304a28db2d8bc47a82667",
    "sim_n03245889_16148.jpg": "03862002cd9f6200b5ef26a9898e5da1c1afa54329f7a1b60f00d94b3583ffca",
    "sim_n03268918_3662.jpg": "9a6ef3928fce075ce9c53f50363b4de724a617ba120a16483eafd3afd1b87c3b",
    "sim_n03433637_2002.jpg": "849554daae4391dbc0aed7b5a0a251fc45882faf43e9939b32b5a46830ea806d",
    "sim_n03488887_15199.jpg": "d854e48627e7ca1ba200b7c1376e8915fdff9f228f7e36cd2a5702be3db6dc93",
    "sim_n03518943_2240.jpg": "318fdf3979ea8943579d7a4c5107ab3f38d370ac8b2d8dceebd9ca65e52fa215",
    "sim_n03523987_7290.jpg": "ee5ac3a8589edc9e5f583fd4fb09d8dc81003e8499ff843429dfe942361ed095",
    "sim_n03809603_3531.jpg": "1f6accc2037fc57fcb756ecf202c0773b2244406409f7769db38f5b2a3c85039",
    "sim_n03822767_7285.jpg": "08af5510610db6c5597245097048a91adaabab90fb30351691c9b3078b8a7d38",
    "sim_n04260364_2410.jpg": "8d0cdebca8845060a6ec32388faf1fbdba0e765ee42eba2f1257c55a1831e5c4",
    "sim_n04288533_9519.jpg": "98464549e5beab8514befbb301b7f6143ca9b94b51ecdf91f32c316a6680c397",
    "sim_n04404412_26251.jpg": "9bf0328106837196ee3b3aa6f233dfd14b1957aaac2d2997aeff047ce5a68efc",
    "sim_n04564581_8170.jpg": "14a39789d61c5c07b5fece7c8f87e626e8480ed0fbe6fec4a721af558e491058",
    "sim_n04583212_9954.jpg": "84b564d8474adf3024b3f036a1dc75caeb6a8dfdb3f50e550440d2628883cb67",
    "sim_n07560652_7278.jpg": "6c3b0f95bd25acd61ff3581fb3b05555da6fabdcf2858d742efb40a68139d027",
    "sim_n07581931_2919.jpg": "04b8ba594367ddd8123ff2a3f66d055cd3656a5f62a85625f29b23a6504527cc",
    "sim_n07663899_6767.jpg": "806d5cb597d8a63060af6c9c00bc6806d5d16594d52433121e4204b766bb4ff5",
    "sim_n07697313_11105.jpg": "d3bc4353c20c3a7d9194376fc5abbf87ee248b8f2dae56a90f5736c6771b3b09",
    "sim_n07714571_3105.jpg": "c0393fe1316a245ce326d2528a6b35d0afde66af163ab0e06e608a3cb94a6a69",
    "sim_n07910656_7115.jpg": "28ac47bcceec9e79f2597837f9b7c17d2f99a4288b5404a5542faccde4305a40",
    "sim_n07930554_10266.jpg": "752025a3858a685cb16e1d73b3c968f07a2a082825d67b985c92110adbec74ee",
    "sim_n09406793_39048.jpg": "463eb65ecfce6c7ab6f564eb627b73208cf8b8a91292d6c7bac0a6048a684707",
    "sim_n09691729_2568.jpg": "951cbee56865400fed4d201a5f1106a5d217337900c35352d317b79622d8936d",
    "sim_n09706255_4386.jpg": "270dce026f3aa494c44d633bfd54fe60b0f0e379f93e26eebc6986768c349444",
    "sim_n09906704_22866.jpg": "31bb4021e403cf22896f3553d3d0af330d52a22c166f1dc804ac084afa8274ef",
    "sim_n09988703_14533.jpg": "a6ab83c8b9048486839eeb20b710a316934f11da8d6381995b013816baab2306",
    "sim_n10374849_811.jpg": "fc23d22342a602318d436bb19609264387744eccd1570ea1c10276581e76ba57",
    "sim_n11508382_9183.jpg": "0a270ac291e03485be604ae7c0d25eda9b9e05e7dc26081bd9c128520fa3705d",
    "sim_n11769176_1973.jpg": "72a9fa05ae10e74cba13811daed5effeb589f57bc472e1f1ccba4b9b11043457",
    "sim_n12560282_16028.jpg": "6cec4c5fb97af4b93611f21bf4762e505b736688469f9cc81b9cc9fd653472d9",
    "sim_n12709103_15667.jpg": "baef9179a0d24ecfdb4cf42876686871c268fe133c205ae508fb1d2daf5d8490",
    "sim_n12828791_5672.jpg": "946eb03eb7d92b8cf0e43636c9c2b1e4cf54b991562885534f3206facc80e988",
    "sim_n13052670_6077.jpg": "c40e6eb2fa3de518b8b43333c55c438e55fba7b0c4045e1439b32722a1bdb736",
}

IMAGENET_SAMPLES = Dataset(
    name="imagenet-samples",
    title="50 ImageNet-like photos (shap's imagenet50)",
    licence="MIT (shap)",
    homepage="https://github.com/shap/shap/tree/master/data/imagenet50",
    files=tuple(
        RemoteFile(f"imagenet-samples/images/{name}", sha, (_SHAP_DATA_URL + name,))
        for name, sha in _PHOTO_SHA256.items()
    ),
)

IMAGENET_CLASS_INDEX = Dataset(
    name="imagenet-class-index",
    title="ImageNet-1k class index (the file Keras uses in decode_predictions)",
    licence="ImageNet / WordNet labels",
    homepage="https://keras.io/api/applications/",
    files=(
        RemoteFile(
            "imagenet-samples/imagenet_class_index.json",
            "a1e7a966a1f601d39e4b43e119b3e7dd4a2ad3ea08cf69847cbaf021013767bc",
            (_CLASS_INDEX_URL,),
        ),
    ),
)

DATASETS: dict[str, Dataset] = {
    d.name: d for d in (MNIST, FASHION_MNIST, IMAGENET_SAMPLES, IMAGENET_CLASS_INDEX)
}
