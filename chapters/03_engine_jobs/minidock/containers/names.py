"""Container names: the validator, the generator, and the index that keeps them unique.

A container has exactly one name, stored with a leading slash (`/web`), as
Docker has done since links made names a path (`/web/db`, chapter 05's
GraphDB). Users type it without the slash; the API accepts both.

The generator is Docker's `pkg/namesgenerator`: an adjective and the surname
of a notable scientist or hacker, `focused_turing`. The word lists are
facts about people, so we keep Docker's choices; the code is ours.
"""

from __future__ import annotations

import random
import re
import threading

from minidock.server.errors import BadParameter, Conflict

# --8<-- [start:validator]
VALID_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
VALID_NAME = re.compile(rf"^/?{VALID_NAME_CHARS}+$")


def validate_name(name: str) -> str:
    """The name as stored (`/x`), or BadParameter with dockerd's words.

    Note the `+`: a name has at least two characters, as in Docker. And note
    `fullmatch`: Python's `$` also matches before a final newline (Go's does
    not), so `VALID_NAME.match("web\n")` would let a newline into a name."""
    # lab 03.3: Generate and validate container names
    # hint: VALID_NAME is the rule; the stored name starts with a slash
    # hint: the refusal is a BadParameter: "Invalid container name (NAME), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
    if not VALID_NAME.fullmatch(name):
        raise BadParameter(f"Invalid container name ({name}), only {VALID_NAME_CHARS} are allowed")
    return name if name.startswith("/") else "/" + name
    # end lab 03.3
# --8<-- [end:validator]


LEFT = [
    "admiring", "adoring", "affectionate", "agitated", "amazing", "angry", "awesome", "beautiful",
    "blissful", "bold", "boring", "brave", "busy", "charming", "clever", "compassionate", "competent",
    "condescending", "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted",
    "dreamy", "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
    "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant", "gifted",
    "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful", "hungry", "infallible",
    "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen", "kind", "laughing", "loving",
    "lucid", "magical", "modest", "musing", "mystifying", "naughty", "nervous", "nice", "nifty",
    "nostalgic", "objective", "optimistic", "peaceful", "pedantic", "pensive", "practical", "priceless",
    "quirky", "quizzical", "recursing", "relaxed", "reverent", "romantic", "sad", "serene", "sharp",
    "silly", "sleepy", "stoic", "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty",
    "trusting", "unruffled", "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful",
    "xenodochial", "youthful", "zealous", "zen",
]

RIGHT = [
    "agnesi", "albattani", "allen", "almeida", "antonelli", "archimedes", "ardinghelli", "aryabhata",
    "austin", "babbage", "banach", "bardeen", "bartik", "bassi", "beaver", "bell", "benz", "bhabha",
    "bhaskara", "black", "blackburn", "blackwell", "bohr", "booth", "borg", "bose", "bouman", "boyd",
    "brahmagupta", "brattain", "brown", "buck", "burnell", "cannon", "carson", "cartwright", "carver",
    "cerf", "chandrasekhar", "chaplygin", "chatelet", "chatterjee", "chaum", "chebyshev", "clarke",
    "cohen", "colden", "cori", "cray", "curie", "curran", "darwin", "davinci", "dewdney", "dhawan",
    "diffie", "dijkstra", "dirac", "driscoll", "dubinsky", "easley", "edison", "einstein", "elbakyan",
    "elgamal", "elion", "ellis", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat", "fermi",
    "feynman", "franklin", "gagarin", "galileo", "galois", "ganguly", "gauss", "germain", "goldberg",
    "goldstine", "goldwasser", "golick", "goodall", "gould", "greider", "grothendieck", "haibt",
    "hamilton", "haslett", "hawking", "heisenberg", "hellman", "hermann", "herschel", "hertz",
    "heyrovsky", "hodgkin", "hofstadter", "hoover", "hopper", "hugle", "hypatia", "ishizaka", "jackson",
    "jang", "jemison", "jennings", "jepsen", "johnson", "joliot", "jones", "kalam", "kapitsa", "kare",
    "keldysh", "keller", "kepler", "khayyam", "khorana", "kilby", "kirch", "knuth", "kowalevski",
    "lalande", "lamarr", "lamport", "leakey", "leavitt", "lederberg", "lehmann", "lewin", "lichterman",
    "liskov", "lovelace", "lumiere", "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy",
    "mcclintock", "mclaren", "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "meninsky", "merkle",
    "mestorf", "mirzakhani", "montalcini", "moore", "morse", "moser", "murdock", "napier", "nash",
    "neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce", "panini", "pare",
    "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras", "proskuriakova", "ptolemy",
    "raman", "ramanujan", "rhodes", "ride", "ritchie", "robinson", "roentgen", "rosalind", "rubin",
    "saha", "sammet", "sanderson", "satoshi", "shamir", "shannon", "shaw", "shirley", "shockley",
    "shtern", "sinoussi", "snyder", "solomon", "spence", "stonebraker", "sutherland", "swanson",
    "swartz", "swirles", "taussig", "tereshkova", "tesla", "tharp", "thompson", "torvalds", "tu",
    "turing", "varahamihira", "vaughan", "villani", "visvesvaraya", "volhard", "wescoff", "wilbur",
    "wiles", "williams", "williamson", "wilson", "wing", "wozniak", "wright", "wu", "yalow", "yonath",
    "zhukovsky",
]


# --8<-- [start:generator]
def random_name(retry: int = 0, rng: random.Random | None = None) -> str:
    """`adjective_surname`; from the second try on, with a digit appended (`focused_turing3`).

    Docker's namesgenerator carries one exception, and so do we: "Steve
    Wozniak is not boring", so `boring_wozniak` is never generated."""
    # lab 03.3: Generate and validate container names
    # hint: an adjective from LEFT and a surname from RIGHT, picked with `rng` (or random.SystemRandom())
    # hint: never boring_wozniak; from the second try on (retry > 0) append one random digit
    pick = rng or random.SystemRandom()
    while True:
        name = f"{pick.choice(LEFT)}_{pick.choice(RIGHT)}"
        if name != "boring_wozniak":
            break
    if retry > 0:
        name += str(pick.randrange(10))
    return name
    # end lab 03.3
# --8<-- [end:generator]


class NameIndex:
    """Which container owns which name: Docker's `daemon.containersReplica` name
    reservations (chapter 05 moves this into the GraphDB).

    `reserve` is the only way in, and it is atomic: two creates racing for
    `/web` cannot both win. All names are stored with their leading slash."""

    GENERATE_TRIES = 6  # as dockerd's generateNewName; then the short ID is the name

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: dict[str, str] = {}  # "/name" -> container ID

    def reserve(self, name: str, container_id: str) -> str:
        """Give `name` to `container_id` (validated first); Conflict with Docker's words if taken."""
        full = validate_name(name)
        with self._lock:
            owner = self._owner.get(full)
            if owner is not None and owner != container_id:
                raise Conflict(
                    f'Conflict. The container name "{full}" is already in use by container "{owner}". '
                    f"You have to remove (or rename) that container to be able to reuse that name.")
            self._owner[full] = container_id
        return full

    def reserve_generated(self, container_id: str, rng: random.Random | None = None) -> str:
        """A fresh generated name for `container_id`: a few tries, then the short ID."""
        for attempt in range(self.GENERATE_TRIES):
            name = "/" + random_name(attempt, rng)
            try:
                return self.reserve(name, container_id)
            except Conflict:
                continue
        return self.reserve(container_id[:12], container_id)

    def release(self, name: str) -> None:
        with self._lock:
            self._owner.pop(name if name.startswith("/") else "/" + name, None)

    def get(self, name: str) -> str | None:
        """The ID that owns `name` (with or without the slash), or None."""
        with self._lock:
            return self._owner.get(name if name.startswith("/") else "/" + name)

    def __len__(self) -> int:
        with self._lock:
            return len(self._owner)
