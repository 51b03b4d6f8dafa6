# Only modules python3-minimal ships (the bench's Debian base has no full standard library).

def summarise(values):
    values = list(values)
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    return {"count": len(values), "mean": mean, "stdev": round(variance ** 0.5, 3)}
