import sys
from app import report

def main(argv):
    data = report.summarise(range(1, 10001))
    if "--self-test" in argv:
        assert data["count"] == 10000, data
        print("self-test ok")
        return 0
    print(sorted(data.items()))
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
